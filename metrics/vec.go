package metrics

import (
	"slices"

	"github.com/lnmp-init/lnmp-init/promtext"
)

// vec is one family of samples told apart by their label values, kept
// sorted by those values so every scrape writes them in the same order.
// Its owner serializes access.
type vec struct {
	name, help string
	typ        promtext.Type
	labels     []string
	rows       []row
}

// row is one sample of a vec.
type row struct {
	values []string
	value  float64
}

func newVec(name, help string, typ promtext.Type, labels ...string) *vec {
	return &vec{name: namespace + "_" + name, help: help, typ: typ, labels: labels}
}

// at returns the sample with these label values, adding it at 0 the first
// time. Only that first time allocates.
func (v *vec) at(values ...string) *float64 {
	i, found := slices.BinarySearchFunc(v.rows, values, func(r row, vals []string) int {
		return slices.Compare(r.values, vals)
	})
	if !found {
		v.rows = slices.Insert(v.rows, i, row{values: slices.Clone(values)})
	}
	return &v.rows[i].value
}

// add adds d to the sample with these label values.
func (v *vec) add(d float64, values ...string) { *v.at(values...) += d }

// set sets the sample with these label values.
func (v *vec) set(x float64, values ...string) { *v.at(values...) = x }

// write writes the family, or nothing while it has no sample, as
// Prometheus's own client does.
func (v *vec) write(w *promtext.Writer) {
	if len(v.rows) == 0 {
		return
	}
	w.Family(v.name, v.help, v.typ)
	for _, r := range v.rows {
		w.SampleVec(r.value, v.labels, r.values)
	}
}
