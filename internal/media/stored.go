package media

import "iter"

// What both store backends share in keeping uploads: one row per file,
// keyed by (hash, variant).

// Variants yields the files of it to store, each with its variant: 0 for
// the original, the width for a derivative.
func Variants(it Item) iter.Seq2[int, File] {
	return func(yield func(int, File) bool) {
		if !yield(0, it.Original) {
			return
		}
		for _, d := range it.Derivatives {
			if !yield(d.Width, d) {
				return
			}
		}
	}
}

// Collector rebuilds items from file rows read grouped by hash with the
// original (variant 0) first and derivatives by width.
type Collector struct {
	items []Item
}

// Add takes one row: the upload's columns in it, one file and its variant.
func (c *Collector) Add(it Item, variant int, f File) {
	if n := len(c.items); n == 0 || c.items[n-1].Hash != it.Hash {
		c.items = append(c.items, it)
	}
	last := &c.items[len(c.items)-1]
	if variant == 0 {
		last.Original = f
	} else {
		last.Derivatives = append(last.Derivatives, f)
	}
}

// Items is what was collected, in the order read.
func (c *Collector) Items() []Item { return c.items }
