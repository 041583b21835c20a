package console

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/emdhub/hub/internal/stats"
)

// sheet is one table of a report: a sheet of the XLSX, a section of the CSV.
type sheet struct {
	Name   string
	Header []string
	Rows   [][]any
}

func filterRows(f stats.Filter) [][]any {
	rows := [][]any{{"Период с", f.From.Format("02.01.2006")}, {"Период по", f.To.Format("02.01.2006")}}
	if f.Region != "" {
		rows = append(rows, []any{"Субъект РФ", f.Region + " " + stats.RegionName(f.Region)})
	}
	if f.OrgOID != "" {
		rows = append(rows, []any{"МО", f.OrgOID})
	}
	if f.SystemID.String() != "00000000-0000-0000-0000-000000000000" {
		rows = append(rows, []any{"ИС", f.SystemID.String()})
	}
	if f.Kind != "" {
		rows = append(rows, []any{"Вид документа", f.Kind})
	}
	return rows
}

func totalsRows(t stats.Totals, queue *int64) [][]any {
	rows := [][]any{
		{"Всего попыток", t.Attempts},
		{"Успешных", t.Accepted}, {"Успешных, %", t.AcceptedPercent},
		{"Неуспешных", t.Refused}, {"Неуспешных, %", t.RefusedPercent},
		{"Документов", t.Documents}, {"Среднее число попыток на документ", t.AttemptsPerDocument},
		{"Опоздавших более чем на 5 дней, %", t.DelayedPercent},
	}
	if queue != nil {
		rows = append(rows, []any{"Запросов в очереди", *queue})
	}
	return rows
}

func shareSheet(name, what string, ss []stats.Share) sheet {
	s := sheet{Name: name, Header: []string{"Код", "Субъект РФ", what, "Из", "Доля, %"}}
	for _, x := range ss {
		s.Rows = append(s.Rows, []any{x.Region, x.Name, x.N, x.Of, x.Percent})
	}
	return s
}

func registrationSheets(d *stats.Registration) []sheet {
	sum := sheet{Name: "Итоги", Header: []string{"Показатель", "Значение"}, Rows: append(filterRows(d.Filter), totalsRows(d.Totals, &d.Queue)...)}
	lags := sheet{Name: "Сроки", Header: []string{"Дней", "От создания до подписи", "От подписи до передачи"}}
	for i, b := range d.Lags.CreatedToSigned {
		l := strconv.Itoa(b.Days)
		if b.Days == stats.MaxLagDays {
			l += "+"
		}
		lags.Rows = append(lags.Rows, []any{l, b.N, d.Lags.SignedToSubmitted[i].N})
	}
	tl := sheet{Name: "По дням", Header: []string{"День", "Успешные", "Неуспешные"}}
	for _, p := range d.Timeline {
		tl.Rows = append(tl.Rows, []any{p.Day, p.Accepted, p.Refused})
	}
	return []sheet{sum, lags, tl,
		shareSheet("Больше опозданий", "Опоздавших", d.MostDelayed), shareSheet("Меньше опозданий", "Опоздавших", d.LeastDelayed)}
}

func refusalSheets(d *stats.Refusals) []sheet {
	sum := sheet{Name: "Итоги", Header: []string{"Показатель", "Значение"},
		Rows: append(append(filterRows(d.Filter), totalsRows(d.Totals, nil)...), []any{"Всего ошибок", d.TotalErrors})}
	rs := sheet{Name: "Причины", Header: []string{"Код", "Количество", "Доля, %"}}
	for _, x := range d.Reasons {
		rs.Rows = append(rs.Rows, []any{x.Code, x.N, x.Percent})
	}
	what := "Субъект РФ"
	if d.By == stats.BySystemKey {
		what = "ИС — МО"
	}
	rank := sheet{Name: "Рейтинг", Header: []string{"Код", what, "Попыток", "Успешных", "Неуспешных", "Доля отказов, %", "Попыток на документ", "Опозданий, %", "Частая причина"}}
	for _, g := range d.Ranking {
		rank.Rows = append(rank.Rows, []any{g.Key, g.Name, g.Attempts, g.Accepted, g.Refused, g.RefusedPercent, g.AttemptsPerDocument, g.DelayedPercent, g.TopCode})
	}
	return []sheet{sum, rs, shareSheet("Больше отказов", "Отказов", d.MostRefused), shareSheet("Меньше отказов", "Отказов", d.LeastRefused), rank}
}

func deliverySheets(d *stats.Deliveries) []sheet {
	ps := sheet{Name: "Получатели", Header: []string{"Получатель", "Название", "Попыток", "Успешных", "Успешных, %", "p50, мс", "p95, мс", "Предохранитель", "В очереди", "Ждёт с"}}
	for _, p := range d.Peers {
		oldest := ""
		if p.Oldest != nil {
			oldest = p.Oldest.Format(time.RFC3339)
		}
		ps.Rows = append(ps.Rows, []any{p.Peer, p.Name, p.Attempts, p.OK, p.OKPercent, p.P50MS, p.P95MS, p.Breaker, p.Queue, oldest})
	}
	fs := sheet{Name: "Воронки", Header: []string{"Поток", "Этап", "Количество"}}
	for _, f := range d.Funnels {
		for _, s := range f.Steps {
			fs.Rows = append(fs.Rows, []any{f.Name, s.Name, s.N})
		}
	}
	return []sheet{ps, fs}
}

// writeCSV writes the sheets one after another, each under its name and
// separated by a blank line; a UTF-8 BOM first so spreadsheet programs read
// the Cyrillic right.
func writeCSV(w io.Writer, sheets []sheet) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	for i, s := range sheets {
		if i > 0 {
			_ = cw.Write(nil)
		}
		_ = cw.Write([]string{s.Name})
		_ = cw.Write(s.Header)
		for _, r := range s.Rows {
			rec := make([]string, len(r))
			for j, v := range r {
				rec[j] = fmt.Sprint(v)
			}
			_ = cw.Write(rec)
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeXLSX writes one sheet per table, numbers as numbers.
func writeXLSX(w io.Writer, sheets []sheet) error {
	x := excelize.NewFile()
	defer x.Close()
	for i, s := range sheets {
		if i == 0 {
			if err := x.SetSheetName("Sheet1", s.Name); err != nil {
				return err
			}
		} else if _, err := x.NewSheet(s.Name); err != nil {
			return err
		}
		hdr := make([]any, len(s.Header))
		for j, h := range s.Header {
			hdr[j] = h
		}
		if err := x.SetSheetRow(s.Name, "A1", &hdr); err != nil {
			return err
		}
		for r, row := range s.Rows {
			cell, _ := excelize.CoordinatesToCellName(1, r+2)
			row := row
			if err := x.SetSheetRow(s.Name, cell, &row); err != nil {
				return err
			}
		}
	}
	_, err := x.WriteTo(w)
	return err
}
