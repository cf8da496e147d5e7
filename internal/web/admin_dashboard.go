package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/store"
)

// The dashboard page (docs/ARCHITECTURE.md, "Dashboard"): everything it
// shows comes from dashboard.Service.Load; this file only lays it out,
// drawing the weekly growth as an SVG chart on the server.

// DashboardLoader is what the dashboard page needs: *dashboard.Service.
type DashboardLoader interface {
	Load(ctx context.Context) (*dashboard.Dashboard, error)
}

// dashboardView is the dashboard page's data.
type dashboardView struct {
	D *dashboard.Dashboard // nil: no dashboard service configured
	// Subscribers: the subscriber counts and growth are shown (managers
	// and owners: subscribers are theirs); RunLinks: runs link to their
	// delivery pages.
	Subscribers, RunLinks bool
	Chart                 *growthChart
	// Warnings are D's, worded as sentences.
	Warnings []dashboard.Warning
}

func (a *adminUI) dashboard(w http.ResponseWriter, r *http.Request) error {
	v := dashboardView{}
	if a.cfg.Dashboard != nil {
		d, err := a.cfg.Dashboard.Load(r.Context())
		if err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		v.D = d
		for _, w := range d.Warnings {
			w.Message = sentence(w.Message)
			v.Warnings = append(v.Warnings, w)
		}
		v.Subscribers = roleAtLeast(who(r).User.Role, store.RoleManager)
		v.RunLinks = v.Subscribers
		if v.Subscribers {
			v.Chart = newGrowthChart(d.Growth, a.s.cfg.Site.Location)
		}
	}
	a.render(w, r, http.StatusOK, "dashboard", adminView{Title: "Dashboard", Data: v})
	return nil
}

// The chart's frame, in SVG user units.
const (
	chartW, chartH                               = 640, 260
	chartLeft, chartRight, chartTop, chartBottom = 64, 16, 12, 36
)

// growthChart is the weekly subscriber counts as SVG geometry: one line
// per status, y ticks and dated x ticks.
type growthChart struct {
	W, H   int
	Left   int
	Right  int // x of the plot's right edge
	Top    int
	Bottom int // y of the plot's bottom edge
	// YLabelX and XLabelY place the tick labels.
	YLabelX, XLabelY int
	Series           []chartSeries
	YTicks           []chartTick
	XTicks           []chartTick
	Desc             string
	Rows             []growthRow
}

type chartSeries struct {
	Name, Class string
	Points      string // SVG polyline points
	Last        int
}

type chartTick struct {
	Pos   int
	Label string
}

// growthRow is one week in the table beside the chart.
type growthRow struct {
	End                                    string
	Active, Pending, Unsubscribed, Bounced int
	Growth                                 string // signed: +12, -3, 0
}

func newGrowthChart(pts []dashboard.WeekPoint, loc *time.Location) *growthChart {
	if loc == nil {
		loc = time.UTC
	}
	c := &growthChart{W: chartW, H: chartH, Left: chartLeft, Right: chartW - chartRight, Top: chartTop, Bottom: chartH - chartBottom,
		YLabelX: chartLeft - 6, XLabelY: chartH - chartBottom + 22}
	if len(pts) == 0 {
		return c
	}
	series := []struct {
		name, class string
		get         func(dashboard.StatusCounts) int
	}{
		{"Active", "s-active", func(s dashboard.StatusCounts) int { return s.Active }},
		{"Pending", "s-pending", func(s dashboard.StatusCounts) int { return s.Pending }},
		{"Unsubscribed", "s-unsubscribed", func(s dashboard.StatusCounts) int { return s.Unsubscribed }},
		{"Bounced", "s-bounced", func(s dashboard.StatusCounts) int { return s.Bounced }},
	}
	top := 0
	for _, p := range pts {
		for _, s := range series {
			top = max(top, s.get(p.Counts))
		}
	}
	step := niceStep(top)
	ymax := step * 4
	x := func(i int) int {
		if len(pts) == 1 {
			return c.Right
		}
		return c.Left + i*(c.Right-c.Left)/(len(pts)-1)
	}
	y := func(v int) int { return c.Bottom - int(int64(v)*int64(c.Bottom-c.Top)/int64(ymax)) }
	for _, s := range series {
		var b strings.Builder
		for i, p := range pts {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(x(i)) + "," + strconv.Itoa(y(s.get(p.Counts))))
		}
		c.Series = append(c.Series, chartSeries{Name: s.name, Class: s.class, Points: b.String(), Last: s.get(pts[len(pts)-1].Counts)})
	}
	for v := 0; v <= ymax; v += step {
		c.YTicks = append(c.YTicks, chartTick{Pos: y(v), Label: groupDigits(v)})
	}
	// A dated tick about every quarter, ending at the latest week.
	for i := len(pts) - 1; i >= 0; i -= 13 {
		c.XTicks = append([]chartTick{{Pos: x(i), Label: pts[i].End.In(loc).Format("2 Jan 2006")}}, c.XTicks...)
	}
	first, last := pts[0].Counts, pts[len(pts)-1].Counts
	c.Desc = fmt.Sprintf("Over the %d weeks to %s, active subscribers went from %s to %s, pending from %s to %s, unsubscribed from %s to %s and bounced from %s to %s.",
		len(pts), pts[len(pts)-1].End.In(loc).Format("2 Jan 2006"),
		groupDigits(first.Active), groupDigits(last.Active), groupDigits(first.Pending), groupDigits(last.Pending),
		groupDigits(first.Unsubscribed), groupDigits(last.Unsubscribed), groupDigits(first.Bounced), groupDigits(last.Bounced))
	for _, p := range pts {
		c.Rows = append(c.Rows, growthRow{End: p.End.In(loc).Format("2 Jan 2006"), Active: p.Counts.Active, Pending: p.Counts.Pending,
			Unsubscribed: p.Counts.Unsubscribed, Bounced: p.Counts.Bounced, Growth: signed(p.Growth)})
	}
	return c
}

// niceStep is a round tick step (1, 2 or 5 times a power of ten) with
// which four steps reach at least top.
func niceStep(top int) int {
	if top <= 4 {
		return 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if s := m * p; s*4 >= top {
				return s
			}
		}
	}
}

// groupDigits writes n with thin spaces between groups of three digits
// (12 345), as the admin pages show counts.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// signed is n with its sign, as a change is shown.
func signed(n int) string {
	if n > 0 {
		return "+" + groupDigits(n)
	}
	return groupDigits(n)
}
