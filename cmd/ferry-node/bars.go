package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// barSet draws the progress bars of every running transfer on a terminal,
// in one container (mpb), so that transfers, text lines and logs never draw
// over each other: whatever is printed while bars are up goes above them.
type barSet struct {
	out io.Writer // the terminal
	con *console  // logs to divert above the bars; nil: none
	// opts are extra container options (tests draw on a buffer).
	opts []mpb.ContainerOption

	p    *mpb.Progress // nil while no bar is up
	live int           // transfers with bars up
}

// transferBars are one transfer's bars: the file in progress (when the
// transfer has more than that file) above the whole transfer's.
type transferBars struct {
	set       *barSet
	label     string
	total     *mpb.Bar
	file      *mpb.Bar
	fileIndex int
	m         *meter
}

// add puts up the bars of a transfer of total bytes, labelled label, whose
// rate and ETA come from m. Called with the renderer's lock held.
func (b *barSet) add(label string, total int64, m *meter) *transferBars {
	if b.p == nil {
		opts := append([]mpb.ContainerOption{mpb.WithOutput(b.out), mpb.WithRefreshRate(200 * time.Millisecond)}, barOptions(b.out)...)
		b.p = mpb.New(append(opts, b.opts...)...)
		if b.con != nil {
			b.con.divert(b.p)
		}
	}
	b.live++
	t := &transferBars{set: b, label: label, m: m, fileIndex: -1}
	t.total = b.p.New(total, mpb.BarStyle(),
		mpb.BarPriority(1<<30), // below the file bars
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(shorten(label, 24), decor.WC{W: 25, C: decor.DindentRight}), decor.Percentage(decor.WC{W: 5})),
		mpb.AppendDecorators(decor.Any(m.counts, decor.WC{W: 22}), decor.Any(m.speed, decor.WC{W: 14}), decor.Any(m.eta, decor.WC{W: 10})),
	)
	return t
}

// startFile shows the file index (named name, size bytes, offset of them
// held already) as the one in progress, when it is not the whole transfer.
func (t *transferBars) startFile(index int, name string, size, offset, total int64) {
	if t.fileIndex == index {
		return
	}
	t.dropFile()
	t.fileIndex = index
	if size <= 0 || size >= total {
		return // the total bar says it all
	}
	t.file = t.set.p.New(size, mpb.BarStyle(),
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(shorten(name, 24), decor.WC{W: 25, C: decor.DindentRight}), decor.Percentage(decor.WC{W: 5})),
		mpb.AppendDecorators(decor.Counters(decor.SizeB1024(0), "% .1f / % .1f", decor.WC{W: 22})),
	)
	t.file.SetCurrent(offset)
}

// update sets the file index to fileDone bytes and the transfer to done.
func (t *transferBars) update(index int, fileDone, done int64) {
	if t.file != nil && index == t.fileIndex {
		t.file.SetCurrent(fileDone)
	}
	t.total.SetCurrent(done)
}

func (t *transferBars) dropFile() {
	if t.file != nil {
		t.file.Abort(true)
		t.file = nil
	}
}

// end takes the transfer's bars down and, when they were the last ones,
// the container, so that the next line starts on a clean line.
func (t *transferBars) end() {
	t.dropFile()
	t.total.Abort(true)
	b := t.set
	b.live--
	if b.live > 0 {
		return
	}
	b.p.Wait()
	if b.con != nil {
		b.con.divert(nil)
	}
	b.p = nil
}

// writer returns where a text line goes: above the bars while they are up.
func (b *barSet) writer(w io.Writer) io.Writer {
	if b.p == nil {
		return w
	}
	return aboveBars{p: b.p, w: w}
}

// aboveBars prints above the bars, or to w once they are gone.
type aboveBars struct {
	p *mpb.Progress
	w io.Writer
}

func (a aboveBars) Write(p []byte) (int, error) {
	if n, err := a.p.Write(p); err == nil {
		return n, nil
	}
	return a.w.Write(p)
}

// meter measures a transfer's rate from the bytes moved in this run only,
// so that a resumed transfer's held part does not inflate it.
type meter struct {
	mu    sync.Mutex
	start time.Time // the first file started in this run
	moved int64     // bytes moved in this run
	done  int64     // bytes held in all, moved or not
	total int64
}

// begin starts the clock, once.
func (m *meter) begin(at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.start.IsZero() {
		m.start = at
	}
}

// add counts n more bytes moved in this run.
func (m *meter) add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.moved += n
}

// rate is the bytes per second moved in this run, and the seconds it took.
func (m *meter) rate(now time.Time) (float64, float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.start.IsZero() {
		return 0, 0
	}
	secs := now.Sub(m.start).Seconds()
	if secs <= 0 {
		return 0, 0
	}
	return float64(m.moved) / secs, secs
}

// movedBytes is the number of bytes moved in this run.
func (m *meter) movedBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.moved
}

func (m *meter) counts(decor.Statistics) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%s / %s", mib(m.done), mib(m.total))
}

func (m *meter) speed(decor.Statistics) string {
	r, secs := m.rate(time.Now())
	if secs < 0.2 {
		return ""
	}
	return size(int64(r)) + "/s"
}

func (m *meter) eta(decor.Statistics) string {
	r, secs := m.rate(time.Now())
	if secs < 0.2 || r <= 0 {
		return ""
	}
	m.mu.Lock()
	left := m.total - m.done
	m.mu.Unlock()
	d := time.Duration(float64(left) / r * float64(time.Second)).Round(time.Second)
	return "ETA " + clock(d)
}

// mib formats n bytes in MiB, the unit the bars count in.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// clock formats d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
