package media

import xdraw "golang.org/x/image/draw"

// Strip exposes the structural stripper to the fuzz test.
var Strip = strip

// ProcessWith is Process with another scaler, for BenchmarkDerive.
func ProcessWith(data []byte, s xdraw.Scaler) (Item, error) {
	p, err := prepare(data)
	if err != nil {
		return Item{}, err
	}
	return p.finish(s)
}
