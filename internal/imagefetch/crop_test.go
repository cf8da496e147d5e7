package imagefetch

import (
	"image"
	"testing"
)

func TestLeadRect(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		want image.Rectangle
	}{
		{"Wide16to9", 1600, 900, image.Rect(0, 0, 1600, 900)},
		{"Square", 500, 500, image.Rect(0, 0, 500, 500)},
		{"FourThree", 800, 600, image.Rect(0, 0, 800, 600)},
		{"OGImage", 1200, 630, image.Rect(40, 0, 1160, 630)},   // 1.905: cut to 1120×630
		{"Panorama", 1600, 500, image.Rect(355, 0, 1244, 500)}, // 3.2: cut to 889×500
		{"Portrait", 600, 900, image.Rect(0, 150, 600, 750)},   // cut square
		{"TallStrip", 100, 1000, image.Rect(0, 450, 100, 550)}, // cut square
		{"OnePixel", 1, 1, image.Rect(0, 0, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := leadRect(tt.w, tt.h)
			if got != tt.want {
				t.Fatalf("leadRect(%d, %d) = %v, want %v", tt.w, tt.h, got, tt.want)
			}
			if r := float64(got.Dx()) / float64(got.Dy()); r < 1 || r > 16.0/9*1.002 {
				t.Errorf("aspect %.3f outside 1:1 … 16:9", r)
			}
		})
	}
}

func TestThumbRect(t *testing.T) {
	for _, tt := range []struct {
		w, h int
		want image.Rectangle
	}{
		{1200, 630, image.Rect(285, 0, 915, 630)},
		{600, 900, image.Rect(0, 150, 600, 750)},
		{192, 192, image.Rect(0, 0, 192, 192)},
	} {
		if got := thumbRect(tt.w, tt.h); got != tt.want {
			t.Errorf("thumbRect(%d, %d) = %v, want %v", tt.w, tt.h, got, tt.want)
		}
	}
}
