package netpath

import "slices"

// Protocol numbers.
const (
	protoAll    = -1
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

func hasPorts(proto int) bool { return proto == protoTCP || proto == protoUDP }

// ephemeral is the client port range replies come back to.
const ephemeralLo, ephemeralHi = 1024, 65535

// flows is a set of (protocol, destination port, address) triples of one
// address family: what a path carries, what a filter lets through. Each
// listed protocol has port segments that cover 0-65535 in order (one
// segment for protocols without ports); every protocol not listed behaves
// like other. Sets are values: operations return new flows and never
// change their operands, so flows can be shared freely.
type flows struct {
	other ipSet
	by    []protoFlows
}

type protoFlows struct {
	proto int
	segs  []portSeg
}

// portSeg is the addresses allowed for the ports lo through hi.
type portSeg struct {
	lo, hi int32
	set    ipSet
}

// allFlows is every protocol and port to the addresses of set.
func allFlows(set ipSet) flows { return flows{other: set} }

// ruleFlows is one protocol (protoAll for every protocol) on the ports
// lo-hi (meaningful for TCP and UDP only) to the addresses of set.
func ruleFlows(proto int, lo, hi int32, set ipSet) flows {
	if proto == protoAll {
		return flows{other: set}
	}
	if !hasPorts(proto) || (lo <= 0 && hi >= 65535) {
		return flows{by: []protoFlows{{proto, []portSeg{{0, 65535, set}}}}}
	}
	var segs []portSeg
	if lo > 0 {
		segs = append(segs, portSeg{0, lo - 1, nil})
	}
	segs = append(segs, portSeg{lo, hi, set})
	if hi < 65535 {
		segs = append(segs, portSeg{hi + 1, 65535, nil})
	}
	return flows{by: []protoFlows{{proto, segs}}}
}

// segsOf returns the port segments of a protocol.
func (f flows) segsOf(proto int) []portSeg {
	for i := range f.by {
		if f.by[i].proto == proto {
			return f.by[i].segs
		}
	}
	return []portSeg{{0, 65535, f.other}}
}

func (f flows) empty() bool {
	if !f.other.empty() {
		return false
	}
	for _, p := range f.by {
		for _, s := range p.segs {
			if !s.set.empty() {
				return false
			}
		}
	}
	return true
}

// addresses is every address some flow goes to.
func (f flows) addresses() ipSet {
	out := f.other
	for _, p := range f.by {
		for _, s := range p.segs {
			out = out.union(s.set)
		}
	}
	return out
}

// combine applies a set operation protocol by protocol and port by port.
func combine(a, b flows, op func(x, y ipSet) ipSet) flows {
	out := flows{other: op(a.other, b.other)}
	protos := make([]int, 0, len(a.by)+len(b.by))
	for _, p := range a.by {
		protos = append(protos, p.proto)
	}
	for _, p := range b.by {
		protos = append(protos, p.proto)
	}
	slices.Sort(protos)
	protos = slices.Compact(protos)
	for _, proto := range protos {
		segs := mergeSegs(a.segsOf(proto), b.segsOf(proto), op)
		if len(segs) == 1 && slices.Equal(segs[0].set, out.other) {
			continue // the same as every unlisted protocol
		}
		out.by = append(out.by, protoFlows{proto, segs})
	}
	return out
}

// mergeSegs combines two segmentations of 0-65535, joining neighbours
// that end up with the same set.
func mergeSegs(a, b []portSeg, op func(x, y ipSet) ipSet) []portSeg {
	out := make([]portSeg, 0, max(len(a), len(b)))
	i, j := 0, 0
	lo := int32(0)
	for i < len(a) && j < len(b) {
		hi := min(a[i].hi, b[j].hi)
		set := op(a[i].set, b[j].set)
		if n := len(out); n > 0 && slices.Equal(out[n-1].set, set) {
			out[n-1].hi = hi
		} else {
			out = append(out, portSeg{lo, hi, set})
		}
		lo = hi + 1
		if a[i].hi == hi {
			i++
		}
		if b[j].hi == hi {
			j++
		}
	}
	return out
}

func (f flows) intersect(g flows) flows { return combine(f, g, ipSet.intersect) }
func (f flows) union(g flows) flows     { return combine(f, g, ipSet.union) }
func (f flows) subtract(g flows) flows  { return combine(f, g, ipSet.subtract) }

// restrict keeps the flows to addresses of set.
func (f flows) restrict(set ipSet) flows {
	return f.mapSets(func(x ipSet, _ int, _, _ int32) ipSet { return x.intersect(set) })
}

// mapSets replaces every segment's set (and other's) by fn of it,
// joining neighbouring segments that end up alike.
func (f flows) mapSets(fn func(set ipSet, proto int, lo, hi int32) ipSet) flows {
	out := flows{other: fn(f.other, -2, 0, 65535), by: make([]protoFlows, 0, len(f.by))}
	for _, p := range f.by {
		segs := make([]portSeg, 0, len(p.segs))
		for _, s := range p.segs {
			x := fn(s.set, p.proto, s.lo, s.hi)
			if n := len(segs); n > 0 && slices.Equal(segs[n-1].set, x) {
				segs[n-1].hi = s.hi
				continue
			}
			segs = append(segs, portSeg{s.lo, s.hi, x})
		}
		if len(segs) == 1 && slices.Equal(segs[0].set, out.other) {
			continue
		}
		out.by = append(out.by, protoFlows{p.proto, segs})
	}
	return out
}

// perProto maps every protocol's flows to one set for all its ports,
// computed from its segments: replies, which depend on the protocol but
// not on the port the request went to.
func (f flows) perProto(set func(segs []portSeg, proto int) ipSet) flows {
	out := flows{other: set([]portSeg{{0, 65535, f.other}}, -2)}
	for _, p := range f.by {
		s := set(p.segs, p.proto)
		if slices.Equal(s, out.other) {
			continue
		}
		out.by = append(out.by, protoFlows{p.proto, []portSeg{{0, 65535, s}}})
	}
	return out
}

// classMask keeps, protocol by protocol and port by port, every address
// where keep holds for the segment's set and nothing elsewhere: a filter
// that depends on the traffic class but not on the destination.
func (f flows) classMask(keep func(set ipSet, proto int, lo, hi int32) bool, universe ipSet) flows {
	return f.mapSets(func(set ipSet, proto int, lo, hi int32) ipSet {
		if keep(set, proto, lo, hi) {
			return universe
		}
		return nil
	})
}
