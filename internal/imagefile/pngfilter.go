package imagefile

// PNG row filters (PNG specification, section 9) and the choice among them.

// filterRow fills filt[f][1:] with cur filtered by each filter f that it
// tries (prev is the raw row above, zeros for the first row; bpp is bytes
// per pixel) and returns the filter whose output has the smallest sum of
// absolute values, the bytes read as signed: libpng's heuristic, which
// image/png uses too. Filters are tried in the order most likely to win
// (Up, Paeth, None, Sub, Average) and a sum stops as soon as it cannot win,
// so a loser's buffer may be left partly written; ties go to the earlier.
func filterRow(filt *[nFilter][]byte, cur, prev []byte, bpp int) int {
	n := len(cur)
	up, pa, none, sub, avg := filt[ftUp][1:1+n], filt[ftPaeth][1:1+n], filt[ftNone][1:1+n], filt[ftSub][1:1+n], filt[ftAverage][1:1+n]
	prev = prev[:n]

	best, bestSum := ftUp, 0
	for i := range n {
		up[i] = cur[i] - prev[i]
		bestSum += abs8(up[i])
	}

	sum := 0
	for i := 0; i < bpp; i++ {
		pa[i] = cur[i] - prev[i] // a = c = 0 at the left edge: Paeth predicts b
		sum += abs8(pa[i])
	}
	for i := bpp; i < n && sum < bestSum; i++ {
		pa[i] = cur[i] - paeth(cur[i-bpp], prev[i], prev[i-bpp])
		sum += abs8(pa[i])
	}
	if sum < bestSum {
		best, bestSum = ftPaeth, sum
	}

	sum = 0
	for i := 0; i < n && sum < bestSum; i++ {
		sum += abs8(cur[i])
	}
	if sum < bestSum {
		copy(none, cur)
		best, bestSum = ftNone, sum
	}

	sum = 0
	for i := 0; i < bpp; i++ {
		sub[i] = cur[i]
		sum += abs8(sub[i])
	}
	for i := bpp; i < n && sum < bestSum; i++ {
		sub[i] = cur[i] - cur[i-bpp]
		sum += abs8(sub[i])
	}
	if sum < bestSum {
		best, bestSum = ftSub, sum
	}

	sum = 0
	for i := 0; i < bpp; i++ {
		avg[i] = cur[i] - prev[i]/2
		sum += abs8(avg[i])
	}
	for i := bpp; i < n && sum < bestSum; i++ {
		avg[i] = cur[i] - uint8((int(cur[i-bpp])+int(prev[i]))/2)
		sum += abs8(avg[i])
	}
	if sum < bestSum {
		best = ftAverage
	}
	return best
}

// abs8 is |b| with b read as a signed byte.
func abs8(b uint8) int {
	if b < 128 {
		return int(b)
	}
	return 256 - int(b)
}

// paeth is the Paeth predictor of a byte from its left (a), upper (b) and
// upper-left (c) neighbours: whichever is closest to a + b - c, preferring
// a, then b.
func paeth(a, b, c uint8) uint8 {
	pa := absInt(int(b) - int(c))            // |p - a| with p = a + b - c
	pb := absInt(int(a) - int(c))            // |p - b|
	pc := absInt(int(a) + int(b) - 2*int(c)) // |p - c|
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
