// Command asm generates the SIMD BLAKE2b candidate-scan kernels of package cpu
// (kernel_amd64.s and its Go stubs) with avo. Run it through go generate in the
// parent directory.
package main

import (
	"fmt"
	"math"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sigma is BLAKE2b's message schedule; rounds 10 and 11 reuse rows 0 and 1.
var sigma = [10][16]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// gIdx lists the state words of the eight G applications of a round.
var gIdx = [8][4]int{
	{0, 4, 8, 12}, {1, 5, 9, 13}, {2, 6, 10, 14}, {3, 7, 11, 15},
	{0, 5, 10, 15}, {1, 6, 11, 12}, {2, 7, 8, 13}, {3, 4, 9, 14},
}

// Layout of the parameter block (see kernel.go): pre[16], m[16], want.
const (
	offPre  = 0
	offMsg  = 128
	offWant = 256
)

// widths are the message-word counts kernels are specialised for: words at
// or beyond the width are zero and their additions are left out.
var widths = []int{3, 4, 6, 16}

// avx2States is how many independent 4-lane states the AVX2 kernel hashes
// per iteration (two measured faster than one, three or four on the
// reference machine).
const avx2States = 2

// stop tells a G application where to end (last round only needs part of it).
type stop int

const (
	full stop = iota
	untilA
	untilC
)

func main() {
	ConstraintExpr("!purego")
	for _, w := range widths {
		avx512(w)
	}
	r24, r16 := shuffleMasks()
	for _, w := range widths {
		avx2(w, r24, r16)
	}
	Generate()
}

// ops abstracts the vector width so one schedule serves both kernels.
type ops struct {
	add    func(src, dst Op) // dst += src
	xor    func(src, dst Op) // dst ^= src
	rotr   func(n int, r Register)
	addMsg func(w int, dst Register) // dst += message word w (w < width)
	width  int
}

func (o ops) g(a, b, c, d Register, x, y int, s stop, first bool) {
	if !first {
		if x < o.width {
			o.addMsg(x, a)
		}
		o.add(b, a)
	}
	o.xor(a, d)
	o.rotr(32, d)
	o.add(d, c)
	o.xor(c, b)
	if y < o.width {
		o.addMsg(y, a)
	}
	o.rotr(24, b)
	o.add(b, a)
	if s == untilA {
		return
	}
	o.xor(a, d)
	o.rotr(16, d)
	o.add(d, c)
	if s == untilC {
		return
	}
	o.xor(c, b)
	o.rotr(63, b)
}

// rounds emits the twelve rounds, skipping what is precomputed in round 1 and
// what the first digest word does not need in round 12.
func rounds(emit func(r, k, x, y int, st stop, first bool)) {
	for r := 0; r < 12; r++ {
		s := sigma[r%10]
		for k := 0; k < 8; k++ {
			if r == 0 && k >= 1 && k <= 3 {
				continue // precomputed
			}
			st := full
			if r == 11 && (k == 0 || k == 2) {
				st = untilC // their b words are not read again
			}
			if r == 11 && k >= 4 {
				switch k {
				case 4:
					st = untilA
				case 6:
					st = untilC
				default:
					continue
				}
			}
			emit(r, k, s[2*k], s[2*k+1], st, r == 0 && k == 0)
		}
	}
}

func shuffleMasks() (Mem, Mem) {
	r24 := GLOBL("rotr24", RODATA|NOPTR)
	for lane := 0; lane < 4; lane++ {
		for b := 0; b < 8; b++ {
			DATA(8*lane+b, U8(8*(lane%2)+(b+3)%8))
		}
	}
	r16 := GLOBL("rotr16", RODATA|NOPTR)
	for lane := 0; lane < 4; lane++ {
		for b := 0; b < 8; b++ {
			DATA(8*lane+b, U8(8*(lane%2)+(b+2)%8))
		}
	}
	return r24, r16
}

// gApp is one G application of the schedule.
type gApp struct {
	k, x, y int
	st      stop
	first   bool
}

// schedule lists the kernel's G applications in groups that are emitted
// interleaved: the G applications of one half round are independent, and the
// AVX2 kernel takes them two at a time.
func schedule(per int) [][]gApp {
	var groups [][]gApp
	var cur []gApp
	half := -1
	rounds(func(r, k, x, y int, st stop, first bool) {
		h := 2*r + k/4
		if h != half || len(cur) == per {
			if len(cur) > 0 {
				groups = append(groups, cur)
			}
			cur, half = nil, h
		}
		cur = append(cur, gApp{k, x, y, st, first})
	})
	return append(groups, cur)
}

// step is one operation of a G application on state words: dst op= src
// (src < 0 for a rotation or a message addition).
type step struct {
	op       byte // '+', '^', 'r' (rotate right by n), 'm' (add message word n)
	dst, src int
	n        int
}

// gSteps lists one G application as steps on the state words a, b, c, d.
func gSteps(a, b, c, d, x, y, width int, s stop, first bool) []step {
	var st []step
	// The message word goes in before b: a is ready long before b, so the
	// message addition stays off the dependency chain.
	if !first {
		if x < width {
			st = append(st, step{op: 'm', dst: a, src: -1, n: x})
		}
		st = append(st, step{op: '+', dst: a, src: b})
	}
	st = append(st, step{'^', d, a, 0}, step{'r', d, -1, 32}, step{'+', c, d, 0}, step{'^', b, c, 0})
	if y < width {
		st = append(st, step{op: 'm', dst: a, src: -1, n: y})
	}
	st = append(st, step{'r', b, -1, 24}, step{'+', a, b, 0})
	if s == untilA {
		return st
	}
	st = append(st, step{'^', d, a, 0}, step{'r', d, -1, 16}, step{'+', c, d, 0})
	if s == untilC {
		return st
	}
	return append(st, step{'^', b, c, 0}, step{'r', b, -1, 63})
}

// avx2 hashes avx2States independent 4-lane states per iteration (8
// candidates). One state's chain of dependent half rounds (about 13 cycles
// each) leaves most of the core idle; a second, independent state fills it,
// at the price of keeping 32 state words in 16 YMM registers. The schedule is
// emitted half round by half round, each state's half round in turn, its G
// applications two at a time, step by step side by side. Registers are
// assigned by looking ahead in that straight-line schedule: when one is
// needed, the word used again last gives its register up (stored to its
// stack slot unless unchanged since it came from there) and is loaded back
// just before it is next written; a word that is only read is read from its
// slot as a memory operand. The 63-bit rotate's temporary takes a register
// the same way. Rotations by 32, 24 and 16 are single shuffles (masks read
// from memory); message words are added from broadcast copies on the stack.
func avx2(width int, r24, r16 Mem) {
	const states = avx2States
	name := fmt.Sprintf("scanAVX2w%d", width)
	TEXT(name, 0, "func(p *[33]uint64, table *uint64, n int) int")
	Doc(fmt.Sprintf("%s scans n (a multiple of %d) table entries, %d lanes at a time, for messages of at most %d words; see scanGeneric.", name, 4*states, 4*states, width))
	p := Load(Param("p"), GP64())
	tbl := Load(Param("table"), GP64())
	n := Load(Param("n"), GP64())
	slots := AllocLocal(16 * states * 32) // spilled state words
	init := AllocLocal(16 * 32)           // broadcast initial state words
	msgs := AllocLocal(16 * 32)           // broadcast message words 1..width-1
	m0 := AllocLocal(states * 32)         // each state's message word 0
	want := AllocLocal(32)
	for w := 1; w < width; w++ {
		VPBROADCASTQ(Mem{Base: p, Disp: offMsg + 8*w}, Y0)
		VMOVDQU(Y0, msgs.Offset(32*w))
	}
	for w := 0; w < 16; w++ {
		VPBROADCASTQ(Mem{Base: p, Disp: offPre + 8*w}, Y0)
		VMOVDQU(Y0, init.Offset(32*w))
	}
	VPBROADCASTQ(Mem{Base: p, Disp: offWant}, Y0)
	VMOVDQU(Y0, want)

	// The whole schedule as one straight list of steps.
	var ops []vstep
	emit := func(apps []gApp, state int) {
		var lists [][]step
		for _, a := range apps {
			q := gIdx[a.k]
			lists = append(lists, gSteps(q[0], q[1], q[2], q[3], a.x, a.y, width, a.st, a.first))
		}
		for k := 0; ; k++ {
			more := false
			for _, l := range lists {
				if k < len(l) {
					ops = append(ops, vstep{l[k], state})
					more = true
				}
			}
			if !more {
				break
			}
		}
	}
	for _, half := range schedule(4) {
		h := min(2, len(half))
		for s := 0; s < states; s++ {
			emit(half[:h], s)
			emit(half[h:], s)
		}
	}

	// uses[v] lists the positions of the steps that read word v (word w of
	// state s is v = 16*s+w); the final comparison reads words 0 and 8.
	uses := make([][]int, 16*states)
	for pos, st := range ops {
		uses[st.word(st.dst)] = append(uses[st.word(st.dst)], pos)
		if st.src >= 0 {
			uses[st.word(st.src)] = append(uses[st.word(st.src)], pos)
		}
	}
	for s := 0; s < states; s++ {
		uses[16*s] = append(uses[16*s], len(ops))
		uses[16*s+8] = append(uses[16*s+8], len(ops))
	}
	nextUse := func(pos, v int) int {
		for _, u := range uses[v] {
			if u >= pos {
				return u
			}
		}
		return math.MaxInt // dead
	}

	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	CMPQ(i, n)
	JAE(LabelRef(name + "_none"))

	ys := []Register{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	var owner [16]int // word held by each register, -1 for none
	for r := range owner {
		owner[r] = -1
	}
	where := make([]int, 16*states)  // register holding each word, -1 for none
	dirty := make([]bool, 16*states) // register copy newer than home
	home := make([]Mem, 16*states)   // where the word's value is in memory
	for v := range where {
		where[v] = -1
		home[v] = init.Offset(32 * (v % 16))
	}
	// getReg returns a register free from step pos on, except those in keep.
	getReg := func(pos int, keep ...int) int {
		best, bestUse := -1, -1
		for r := range owner {
			if owner[r] < 0 {
				return r
			}
			if slices.Contains(keep, r) {
				continue
			}
			if u := nextUse(pos, owner[r]); u > bestUse {
				best, bestUse = r, u
			}
		}
		v := owner[best]
		if dirty[v] && bestUse != math.MaxInt {
			home[v] = slots.Offset(32 * v)
			VMOVDQU(ys[best], home[v])
		}
		dirty[v], where[v], owner[best] = false, -1, -1
		return best
	}
	toReg := func(pos, v int, keep ...int) Register {
		if where[v] < 0 {
			r := getReg(pos, keep...)
			VMOVDQU(home[v], ys[r])
			where[v], owner[r] = r, v
		}
		return ys[where[v]]
	}
	// operand is word v's register, or its home if it has none.
	operand := func(v int) Op {
		if where[v] >= 0 {
			return ys[where[v]]
		}
		return home[v]
	}
	// Word 0 of each state: the candidates' message word 0 added.
	for s := 0; s < states; s++ {
		r := getReg(0)
		VPBROADCASTQ(Mem{Base: p, Disp: offMsg}, ys[r])
		VPOR(Mem{Base: tbl, Index: i, Scale: 8, Disp: 32 * s}, ys[r], ys[r])
		VMOVDQU(ys[r], m0.Offset(32*s))
		VPADDQ(init.Offset(0), ys[r], ys[r])
		where[16*s], owner[r], dirty[16*s] = r, 16*s, true
	}
	for pos, st := range ops {
		dv := st.word(st.dst)
		var keep []int
		if sv := st.word(st.src); sv >= 0 && where[sv] >= 0 {
			keep = append(keep, where[sv])
		}
		d := toReg(pos, dv, keep...)
		switch st.op {
		case '+':
			VPADDQ(operand(st.word(st.src)), d, d)
		case '^':
			VPXOR(operand(st.word(st.src)), d, d)
		case 'm':
			if st.n == 0 {
				VPADDQ(m0.Offset(32*st.state), d, d)
			} else {
				VPADDQ(msgs.Offset(32*st.n), d, d)
			}
		case 'r':
			switch st.n {
			case 32:
				VPSHUFD(U8(0xb1), d, d)
			case 24:
				VPSHUFB(r24, d, d)
			case 16:
				VPSHUFB(r16, d, d)
			case 63:
				t := ys[getReg(pos+1, where[dv])]
				VPSRLQ(U8(63), d, t)
				VPADDQ(d, d, d)
				VPOR(t, d, d)
			}
		}
		dirty[dv] = true
	}
	// First digest word xor h0: v0 ^ v8, per state; lane bits 4s..4s+3.
	hit := GP64()
	for s := 0; s < states; s++ {
		var keep []int
		if where[16*s+8] >= 0 {
			keep = append(keep, where[16*s+8])
		}
		r := toReg(len(ops), 16*s, keep...)
		VPXOR(operand(16*s+8), r, r)
		VPCMPEQQ(want, r, r)
		if s == 0 {
			VMOVMSKPD(r, hit.As32())
			continue
		}
		h := GP64()
		VMOVMSKPD(r, h.As32())
		SHLQ(U8(4*s), h)
		ORQ(h, hit)
	}
	endLoop(name, hit, i, 4*states)
}

// vstep is a step on one of several states.
type vstep struct {
	step
	state int
}

// word is state word w of the step's state as a word of all states, or -1.
func (s vstep) word(w int) int {
	if w < 0 {
		return -1
	}
	return 16*s.state + w
}

// avx512 hashes two interleaved groups of 8 lanes (16 candidates) per
// iteration: the two states fill all 32 ZMM registers, which gives the
// core twice the independent work of one group (measured faster on the
// reference machine); message words are read as broadcast memory operands.
func avx512(width int) {
	name := fmt.Sprintf("scanAVX512w%d", width)
	TEXT(name, NOSPLIT, "func(p *[33]uint64, table *uint64, n int) int")
	Doc(fmt.Sprintf("%s scans n (a multiple of 16) table entries, 16 lanes at a time, for messages of at most %d words; see scanGeneric.", name, width))
	p := Load(Param("p"), GP64())
	tbl := Load(Param("table"), GP64())
	n := Load(Param("n"), GP64())
	lanes := AllocLocal(2 * 64)
	va := []Register{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}
	vb := []Register{Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	i := GP64()
	XORQ(i, i)
	mk := func(grp int) ops {
		return ops{
			add:  func(src, dst Op) { VPADDQ(src, dst, dst) },
			xor:  func(src, dst Op) { VPXORQ(src, dst, dst) },
			rotr: func(n int, r Register) { VPRORQ(U8(n), r, r) },
			addMsg: func(w int, dst Register) {
				if w == 0 {
					VPADDQ(lanes.Offset(64*grp), dst, dst)
					return
				}
				VPADDQ_BCST(Mem{Base: p, Disp: offMsg + 8*w}, dst, dst)
			},
			width: width,
		}
	}
	oa, ob := mk(0), mk(1)
	Label(name + "_loop")
	CMPQ(i, n)
	JAE(LabelRef(name + "_none"))
	VMOVDQU64(Mem{Base: tbl, Index: i, Scale: 8}, Z0)
	VPORQ_BCST(Mem{Base: p, Disp: offMsg}, Z0, Z0)
	VMOVDQU64(Z0, lanes.Offset(0))
	VMOVDQU64(Mem{Base: tbl, Index: i, Scale: 8, Disp: 64}, Z16)
	VPORQ_BCST(Mem{Base: p, Disp: offMsg}, Z16, Z16)
	VMOVDQU64(Z16, lanes.Offset(64))
	VPADDQ_BCST(Mem{Base: p, Disp: offPre}, Z0, Z0)
	VPADDQ_BCST(Mem{Base: p, Disp: offPre}, Z16, Z16)
	for k := 1; k < 16; k++ {
		VPBROADCASTQ(Mem{Base: p, Disp: offPre + 8*k}, va[k])
		VMOVDQA64(va[k], vb[k])
	}
	round := -1
	rounds(func(r, k, x, y int, st stop, first bool) {
		if r != round {
			Comment(fmt.Sprintf("Round %d.", r+1))
			round = r
		}
		q := gIdx[k]
		oa.g(va[q[0]], va[q[1]], va[q[2]], va[q[3]], x, y, st, first)
		ob.g(vb[q[0]], vb[q[1]], vb[q[2]], vb[q[3]], x, y, st, first)
	})
	VPXORQ(va[8], va[0], va[0])
	VPXORQ(vb[8], vb[0], vb[0])
	VPCMPEQQ_BCST(Mem{Base: p, Disp: offWant}, va[0], K1)
	VPCMPEQQ_BCST(Mem{Base: p, Disp: offWant}, vb[0], K2)
	KUNPCKBW(K1, K2, K3)
	hit := GP64()
	KMOVW(K3, hit.As32())
	endLoop(name, hit, i, 16)
}

// endLoop closes a kernel's loop: on a hit (a lane bit set in hit) it returns
// the first hit's index i+lane, otherwise it advances i by lanes and loops;
// name_none returns -1.
func endLoop(name string, hit, i GPVirtual, lanes int) {
	TESTQ(hit, hit)
	JNZ(LabelRef(name + "_hit"))
	ADDQ(U8(lanes), i)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_hit")
	BSFQ(hit, hit)
	ADDQ(i, hit)
	VZEROUPPER()
	Store(hit, ReturnIndex(0))
	RET()

	Label(name + "_none")
	MOVQ(I32(-1), i)
	VZEROUPPER()
	Store(i, ReturnIndex(0))
	RET()
}
