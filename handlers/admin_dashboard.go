package handlers

import (
	"bytes"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplAdminDashboard = "admin/dashboard"

// statLink is one figure of the dashboard and the list behind it.
type statLink struct {
	ID    string // element id, e.g. stat-active
	Label string
	Count int
	URL   string // "" when the viewer can't open the list
}

// AdminDashboard is the console's front page: totals per type and role,
// online now, sign-ups and logins per day, the latest of each. The
// figures come from Stats (cached a few seconds); the latest lists read
// a few rows each.
func (h *Handler) AdminDashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	me := Me(c)
	st, err := h.Users.DashboardStats(ctx)
	if err != nil {
		return err
	}
	latest, err := h.Users.ConsoleLatest(ctx, 8)
	if err != nil {
		return err
	}
	admin := me.IsAdmin()
	types := []statLink{
		{ID: "stat-active", Label: "Active", Count: st.ByType["active"], URL: "/admin/users?type=active"},
		{ID: "stat-blocked", Label: "Banned", Count: st.ByType["blocked"], URL: "/admin/users?type=blocked"},
		{ID: "stat-inactive", Label: "Inactive (not confirmed)", Count: st.ByType["inactive"], URL: "/admin/users?type=inactive"},
		{ID: "stat-deleted", Label: "Deleted", Count: st.ByType["deleted"], URL: "/admin/users?type=deleted"},
	}
	roles := make([]statLink, 0, len(models.Roles))
	for i := len(models.Roles) - 1; i >= 0; i-- {
		r := models.Roles[i]
		roles = append(roles, statLink{ID: "stat-role-" + r, Label: r, Count: st.ByRole[r], URL: "/admin/users?role=" + r})
	}
	onlineURL := func(kind string) string {
		if !admin {
			return ""
		}
		return "/admin/online?kind=" + kind
	}
	online := []statLink{
		{ID: "stat-online-users", Label: pluralWord(st.OnlineMembers, "member"), Count: st.OnlineMembers, URL: onlineURL("members")},
		{ID: "stat-online-guests", Label: pluralWord(st.OnlineGuests, "guest"), Count: st.OnlineGuests, URL: onlineURL("guests")},
	}
	charts, err := h.dashboardCharts(st, admin)
	if err != nil {
		return err
	}
	age := int(h.Users.Now().Sub(st.GeneratedAt) / time.Second)
	return h.render(c, tplAdminDashboard, Page{Title: "Console", Data: fiber.Map{
		"Section": "console",
		"Stats":   st,
		"Types":   types,
		"Roles":   roles,
		"Online":  online,
		"Charts":  charts,
		"Signups": userPtrs(latest.Signups),
		"Logins":  latest.Logins,
		"Age":     max(age, 0),
	}})
}

// chartCache keeps the dashboard's two charts drawn (sixty bars and their
// tables are most of the page's drawing) until the figures change.
type chartCache struct {
	mu    sync.Mutex
	drawn map[bool]drawnCharts // by "the viewer is an admin" (links to the audit log)
}

type drawnCharts struct {
	at   time.Time // the GeneratedAt of the figures drawn
	html [2]template.HTML
}

// dashboardCharts draws the sign-ups and logins charts (partials/
// admin_chart), or returns them as drawn for these figures. With
// VIEWS_DIR (a designer at work) they are drawn every time.
func (h *Handler) dashboardCharts(st *models.Stats, admin bool) ([2]template.HTML, error) {
	c := &h.charts
	if h.keepsDrawn() {
		c.mu.Lock()
		d, ok := c.drawn[admin]
		c.mu.Unlock()
		if ok && d.at.Equal(st.GeneratedAt) {
			return d.html, nil
		}
	}
	signups := newDayChart("signups", "Sign-ups per day", "sign-up", st.SignupsPerDay, func(day string) string {
		return "/admin/users?" + url.Values{"created_from": {day}, "created_to": {day}}.Encode()
	})
	logins := newDayChart("logins", "Logins per day", "login", st.LoginsPerDay, func(day string) string {
		if !admin {
			return ""
		}
		return "/admin/events?" + url.Values{"action": {models.EvLogin}, "since": {day}, "until": {day}}.Encode()
	})
	var out [2]template.HTML
	for i, ch := range []dayChart{signups, logins} {
		var buf bytes.Buffer
		if err := h.execute(&buf, "partials/admin_chart", ch); err != nil {
			return out, templateError("partials/admin_chart", err)
		}
		out[i] = template.HTML(buf.String()) //nolint:gosec // drawn by html/template above
	}
	c.mu.Lock()
	if c.drawn == nil {
		c.drawn = map[bool]drawnCharts{}
	}
	c.drawn[admin] = drawnCharts{at: st.GeneratedAt, html: out}
	c.mu.Unlock()
	return out, nil
}

// dayChart is a bar chart of one count per day, laid out here so that the
// template only draws it (inline SVG with presentation attributes: the
// CSP allows no style attribute).
type dayChart struct {
	ID, Title, Noun string
	Width, Height   int // viewBox
	PlotTop         int
	PlotBottom      int // y of the baseline
	PlotLeft        int
	PlotRight       int
	Bars            []chartBar
	Ticks           []chartTick
	Total, Max      int
	MaxDay          string
	Summary         string // "41 sign-ups in the last 30 days, most on 2 Jan (7)"
	AxisX           int    // right end of the y-axis labels
	LabelsY         int    // baseline of the x-axis labels
	HitY, HitH      int
}

type chartBar struct {
	X, Y, W, H int
	HitX, HitW int    // the taller, wider target around the bar
	Day        string // YYYY-MM-DD
	Label      string // 2 Jan
	Count      string // 1,234
	Title      string // 2 Jan: 3 sign-ups
	URL        string
	ShowLabel  bool // an x-axis label under this bar
	LabelX     int
}

type chartTick struct {
	Y      int
	LabelY int
	Value  string
}

// Chart geometry, in viewBox units.
const (
	chartSlot   = 20
	chartBarW   = 14
	chartPlotH  = 160
	chartLeft   = 44 // the least room left of the plot; more when the labels need it
	chartRight  = 24 // the least room right of the last bar
	chartTop    = 14 // the top tick label stands half above its line
	chartBottom = 36
	// chartAxisFont is the largest font size app.css gives the axis labels
	// (.chart-axis on phones), in viewBox units: the margins are worked
	// out for it, so that no label is cut at any width.
	chartAxisFont = 22
	chartLabelGap = 6 // between the y-axis labels and the plot
)

// labelWidth is about how wide text is in the axis font, in viewBox units:
// a little more than the glyphs of common sans-serif fonts (digits are
// about 0.55–0.64 em), so that the estimate errs on the roomy side.
func labelWidth(text string) int {
	em := 0.0
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			em += 0.66
		case r == ',' || r == '.' || r == ' ':
			em += 0.36
		case r == 'M' || r == 'W':
			em += 0.92
		default:
			em += 0.7
		}
	}
	return int(math.Ceil(em * chartAxisFont))
}

// axisNumber writes a tick value short enough for an axis: 950, 2,500,
// 25k, 1.5M (the table under the chart has the exact counts).
func axisNumber(n int) string {
	short := func(v int, unit int, suffix string) string {
		whole, tenth := v/unit, v%unit*10/unit
		if tenth == 0 || whole >= 100 {
			return strconv.Itoa(whole) + suffix
		}
		return strconv.Itoa(whole) + "." + strconv.Itoa(tenth) + suffix
	}
	switch {
	case n >= 1_000_000_000:
		return short(n, 1_000_000_000, "G")
	case n >= 1_000_000:
		return short(n, 1_000_000, "M")
	case n >= 10_000:
		return short(n, 1_000, "k")
	}
	return formatNumber(n)
}

func newDayChart(id, title, noun string, days []models.DayCount, link func(day string) string) dayChart {
	ch := dayChart{ID: id, Title: title, Noun: noun, PlotTop: chartTop, PlotBottom: chartTop + chartPlotH}
	for _, d := range days {
		ch.Total += d.Count
		if d.Count > ch.Max {
			ch.Max, ch.MaxDay = d.Count, d.Day
		}
	}
	top := niceCeil(ch.Max)
	if top == 0 {
		top = 2 // an empty chart still has an axis
	}
	// The plot starts where the widest tick label ends, and the chart
	// ends where the last day's label (centred under its bar) does.
	left, right := chartLeft, chartRight
	for _, v := range []int{0, top / 2, top} {
		left = max(left, labelWidth(axisNumber(v))+chartLabelGap+4)
	}
	for i, d := range days {
		if (len(days)-1-i)%7 == 0 {
			right = max(right, labelWidth(dayLabel(d.Day))/2-chartSlot/2+4)
		}
	}
	ch.PlotLeft = left
	ch.Width = left + len(days)*chartSlot + right
	ch.AxisX, ch.LabelsY = left-chartLabelGap, ch.PlotBottom+26 // below the 0 of the y-axis
	ch.HitY, ch.HitH = chartTop, chartPlotH
	ch.Height = chartTop + chartPlotH + chartBottom
	ch.PlotRight = ch.Width - 4
	for _, v := range []int{0, top / 2, top} {
		y := ch.PlotBottom - int(int64(v)*chartPlotH/int64(top))
		ch.Ticks = append(ch.Ticks, chartTick{Y: y, LabelY: y + chartAxisFont*3/8, Value: axisNumber(v)}) // centred on its line
	}
	ch.Summary = plural(ch.Total, noun) + " in the last " + strconv.Itoa(len(days)) + " days"
	if ch.Max > 0 {
		ch.Summary += ", most on " + dayLabel(ch.MaxDay) + " (" + formatNumber(ch.Max) + ")"
	}
	for i, d := range days {
		h := int(int64(d.Count) * chartPlotH / int64(top))
		if d.Count > 0 && h < 2 {
			h = 2
		}
		x := left + i*chartSlot + (chartSlot-chartBarW)/2
		label := dayLabel(d.Day)
		ch.Bars = append(ch.Bars, chartBar{
			X: x, Y: ch.PlotBottom - h, W: chartBarW, H: h, HitX: x - 3, HitW: chartBarW + 6,
			Day: d.Day, Label: label, Count: formatNumber(d.Count), URL: link(d.Day),
			Title:     label + ": " + plural(d.Count, noun),
			ShowLabel: (len(days)-1-i)%7 == 0, LabelX: x + chartBarW/2,
		})
	}
	return ch
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (0 stays 0), so
// that the axis reads in round numbers; even, so that its half is whole.
func niceCeil(n int) int {
	if n <= 0 {
		return 0
	}
	if n <= 2 {
		return 2
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{2, 5, 10} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// dayLabel writes YYYY-MM-DD as "2 Jan".
func dayLabel(day string) string {
	if t, err := time.Parse("2006-01-02", day); err == nil {
		return t.Format("2 Jan")
	}
	return day
}
