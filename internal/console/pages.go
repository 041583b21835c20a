package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/stats"
)

var funcs = template.FuncMap{"num": num, "pct": pct, "ratio": ratio, "inc": func(i int) int { return i + 1 }, "breaker": breakerText}

// breakerText is a breaker state in Russian.
func breakerText(s string) string {
	switch s {
	case "closed":
		return "замкнут"
	case "open":
		return "разомкнут"
	case "probing":
		return "пробный вызов"
	}
	return s
}

// num writes a count the Russian way: 1 234 567.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	r := strings.Join(out, "\u00a0")
	if neg {
		r = "-" + r
	}
	return r
}

// pct writes a percent with a decimal comma: 12,5 %.
func pct(p float64) string {
	return strings.Replace(strconv.FormatFloat(p, 'f', 1, 64), ".", ",", 1) + "\u00a0%"
}

func ratio(x float64) string { return strings.Replace(strconv.FormatFloat(x, 'f', 2, 64), ".", ",", 1) }

// view is what every dashboard page shows around its figures.
type view struct {
	Title    string
	Active   string
	Operator *operator
	Filter   stats.Filter
	Query    template.URL // the filter as a query string, for links (already escaped: html/template must not escape its & and =)
	Regions  []struct{ Code, Name string }
	Orgs     []option
	Systems  []option
	Kinds    []string
	By       string
	Data     any
	Charts   map[string]template.HTML
}

type option struct{ Value, Label string }

func (c *Console) newView(ctx context.Context, r *http.Request, op *operator, title, active string) (*view, error) {
	f, err := stats.ParseFilter(r.URL.Query(), c.now())
	if err != nil {
		return nil, err
	}
	if err := c.Stats.ResolveOrg(ctx, &f); err != nil {
		return nil, err
	}
	v := &view{Title: title, Active: active, Operator: op, Filter: f, Query: template.URL(f.Query().Encode()), Regions: stats.Regions, Charts: map[string]template.HTML{}}
	systems, err := c.Store.ListSystems(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range systems {
		if !seen[s.OrgOID] {
			seen[s.OrgOID] = true
			v.Orgs = append(v.Orgs, option{s.OrgOID, s.OrgName + " (" + s.OrgOID + ")"})
		}
		if f.OrgOID == "" || f.OrgOID == s.OrgOID {
			v.Systems = append(v.Systems, option{s.ID.String(), s.Name + " — " + s.OrgName})
		}
	}
	sort.Slice(v.Orgs, func(i, j int) bool { return v.Orgs[i].Label < v.Orgs[j].Label })
	rows, err := c.Pool.Query(ctx, `SELECT DISTINCT kind FROM stats_counts WHERE scope = 'a' AND grain = 'm' AND kind <> '' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		v.Kinds = append(v.Kinds, k)
	}
	return v, rows.Err()
}

func shareBars(ss []stats.Share) []hbar {
	var out []hbar
	for _, s := range ss {
		out = append(out, hbar{Label: s.Name, Value: s.Percent, Text: pct(s.Percent)})
	}
	return out
}

func lagBars(bs []stats.Bar) []vbar {
	var out []vbar
	for _, b := range bs {
		l := strconv.Itoa(b.Days)
		if b.Days == stats.MaxLagDays {
			l += "+"
		}
		out = append(out, vbar{Label: l, Value: b.N})
	}
	return out
}

func (c *Console) registration(w http.ResponseWriter, r *http.Request, op *operator) {
	v, err := c.newView(r.Context(), r, op, "Ошибки регистрации", "registration")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d, err := c.Stats.Registration(r.Context(), v.Filter)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Data = d
	v.Charts["created"] = columns("Дней от создания до подписи МО", lagBars(d.Lags.CreatedToSigned))
	v.Charts["submitted"] = columns("Дней от подписи МО до передачи", lagBars(d.Lags.SignedToSubmitted))
	var labels []string
	var ok, bad []int64
	for _, p := range d.Timeline {
		labels = append(labels, p.Day[8:10]+"."+p.Day[5:7])
		ok, bad = append(ok, p.Accepted), append(bad, p.Refused)
	}
	v.Charts["timeline"] = lines("Успешные и неуспешные попытки по дням", labels,
		series{Name: "Успешные", Class: "ok", Values: ok}, series{Name: "Неуспешные", Class: "bad", Values: bad})
	v.Charts["most"] = bars("Наибольшая доля опозданий", shareBars(d.MostDelayed))
	v.Charts["least"] = bars("Наименьшая доля опозданий", shareBars(d.LeastDelayed))
	c.render(w, "registration.html", v)
}

func (c *Console) refusals(w http.ResponseWriter, r *http.Request, op *operator) {
	v, err := c.newView(r.Context(), r, op, "Причины отказа", "refusals")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.By = r.URL.Query().Get("by")
	if v.By != stats.BySystemKey {
		v.By = stats.ByRegionKey
	}
	d, err := c.Stats.Refusals(r.Context(), v.Filter, v.By)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Data = d
	var rs []hbar
	for _, x := range d.Reasons {
		rs = append(rs, hbar{Label: x.Code, Value: float64(x.N), Text: num(x.N) + " · " + pct(x.Percent)})
	}
	v.Charts["reasons"] = bars("Причины отказа", rs)
	v.Charts["most"] = bars("Наибольшая доля отказов", shareBars(d.MostRefused))
	v.Charts["least"] = bars("Наименьшая доля отказов", shareBars(d.LeastRefused))
	c.render(w, "refusals.html", v)
}

func (c *Console) deliveries(w http.ResponseWriter, r *http.Request, op *operator) {
	v, err := c.newView(r.Context(), r, op, "Доставка", "deliveries")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d, err := c.Stats.Deliveries(r.Context(), v.Filter, c.Breaker)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Data = d
	for _, f := range d.Funnels {
		var hs []hbar
		for _, s := range f.Steps {
			hs = append(hs, hbar{Label: s.Name, Value: float64(s.N), Text: num(s.N)})
		}
		v.Charts["funnel-"+f.Flow] = bars(f.Name, hs)
	}
	c.render(w, "deliveries.html", v)
}

// report answers "Скачать отчет": the current view as XLSX or CSV.
func (c *Console) report(w http.ResponseWriter, r *http.Request, op *operator) {
	q := r.URL.Query()
	v, err := c.newView(r.Context(), r, op, "", q.Get("view"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var sheets []sheet
	switch q.Get("view") {
	case "registration":
		d, err := c.Stats.Registration(r.Context(), v.Filter)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		sheets = registrationSheets(d)
	case "refusals":
		by := q.Get("by")
		if by != stats.BySystemKey {
			by = stats.ByRegionKey
		}
		d, err := c.Stats.Refusals(r.Context(), v.Filter, by)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		sheets = refusalSheets(d)
	case "deliveries":
		d, err := c.Stats.Deliveries(r.Context(), v.Filter, c.Breaker)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		sheets = deliverySheets(d)
	default:
		jsonError(w, http.StatusBadRequest, codes.BadRequest, "view must be registration, refusals or deliveries")
		return
	}
	name := fmt.Sprintf("hub-%s-%s-%s", q.Get("view"), v.Filter.From.Format("20060102"), v.Filter.To.Format("20060102"))
	switch q.Get("format") {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		err = writeCSV(w, sheets)
	default:
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		err = writeXLSX(w, sheets)
	}
	if err != nil {
		c.Log.Error("console report", "error", err)
	}
}
