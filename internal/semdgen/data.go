package semdgen

import (
	"fmt"
	"math/rand/v2"
)

// The small subsets of ФНСИ books the generator draws codes from. Codes and
// names are copied from the books in shared/reference/nsi (the versions below);
// nothing reads those files at run time.
const (
	regionBook    = "1.2.643.5.1.13.13.99.2.206" // Субъекты Российской Федерации
	regionVersion = "6.5"
	posBook       = "1.2.643.5.1.13.13.11.1002" // Должности медицинских и фармацевтических работников
	posVersion    = "9.6"
	pos700Book    = "1.2.643.5.1.13.13.99.2.700" // Должности медицинских работников для ФРМСС
	pos700Version = "1.4"
)

// region is a subject of the Federation (НСИ 99.2.206) with what an address
// in it needs: its centre, postal code prefix, streets and the passport office.
type region struct {
	Code, Name, City, Postal, IssueOrg, IssueCode string
	Streets                                       []string
}

var regions = map[int]region{
	77: {"77", "г. Москва", "г. Москва", "1", "ГУ МВД России по г. Москве", "770", []string{"ул. Тверская", "ул. Лесная", "Ленинский пр-кт", "ул. Профсоюзная", "ул. Большая Якиманка"}},
	78: {"78", "г. Санкт-Петербург", "г. Санкт-Петербург", "19", "ГУ МВД России по г. Санкт-Петербургу и Ленинградской обл.", "780", []string{"Невский пр-кт", "ул. Садовая", "Московский пр-кт", "ул. Марата"}},
	50: {"50", "Московская область", "г. Красногорск", "14", "ГУ МВД России по Московской обл.", "500", []string{"ул. Ленина", "ул. Школьная", "Волоколамское ш.", "ул. Пионерская"}},
	16: {"16", "Республика Татарстан (Татарстан)", "г. Казань", "42", "МВД по Республике Татарстан", "160", []string{"ул. Баумана", "ул. Пушкина", "пр-кт Победы", "ул. Декабристов"}},
	66: {"66", "Свердловская область", "г. Екатеринбург", "62", "ГУ МВД России по Свердловской обл.", "660", []string{"ул. Малышева", "ул. 8 Марта", "пр-кт Ленина", "ул. Белинского"}},
	54: {"54", "Новосибирская область", "г. Новосибирск", "63", "ГУ МВД России по Новосибирской обл.", "540", []string{"Красный пр-кт", "ул. Кирова", "ул. Гоголя", "ул. Фрунзе"}},
	23: {"23", "Краснодарский край", "г. Краснодар", "35", "ГУ МВД России по Краснодарскому краю", "230", []string{"ул. Красная", "ул. Северная", "ул. Ставропольская"}},
	63: {"63", "Самарская область", "г. Самара", "44", "ГУ МВД России по Самарской обл.", "630", []string{"ул. Куйбышева", "Московское ш.", "ул. Ново-Садовая"}},
	52: {"52", "Нижегородская область", "г. Нижний Новгород", "60", "ГУ МВД России по Нижегородской обл.", "520", []string{"ул. Большая Покровская", "ул. Родионова", "пр-кт Гагарина"}},
	74: {"74", "Челябинская область", "г. Челябинск", "45", "ГУ МВД России по Челябинской обл.", "740", []string{"пр-кт Ленина", "ул. Кирова", "Комсомольский пр-кт"}},
}

var regionCodes = []int{77, 78, 50, 16, 66, 54, 23, 63, 52, 74}

func regionFor(code int) region {
	if r, ok := regions[code]; ok {
		return r
	}
	return regions[77]
}

// address is a ФИАС address: text, postal code and the GUIDs of the street
// (AOGUID) and the house (HOUSEGUID).
type address struct {
	Region           region
	Line, Postal     string
	AOGUID, HouseGUI string
}

func randomAddress(r *rand.Rand, reg region, flat bool) address {
	a := address{Region: reg}
	street := pick(r, reg.Streets)
	house := 1 + r.IntN(150)
	a.Line = fmt.Sprintf("%s, %s, д. %d", reg.City, street, house)
	if flat {
		a.Line += fmt.Sprintf(", кв. %d", 1+r.IntN(300))
	}
	a.Postal = reg.Postal + fmt.Sprintf("%0*d", 6-len(reg.Postal), r.IntN(pow10(6-len(reg.Postal))))
	a.AOGUID, a.HouseGUI = guid(r), guid(r)
	return a
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// guid returns a random (version 4) GUID as ФИАС writes them.
func guid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// position is a doctor's position; these codes mean the same in НСИ 1002 and 99.2.700.
type position struct{ Code, Name1002, Name700 string }

var positions = []position{
	{"109", "Врач-терапевт", "врач-терапевт"},
	{"110", "Врач-терапевт участковый", "врач-терапевт участковый"},
	{"122", "Врач-хирург", "врач-хирург"},
	{"45", "Врач-невролог", "врач-невролог"},
	{"34", "Врач-кардиолог", "врач-кардиолог"},
	{"50", "Врач-онколог", "врач-онколог"},
	{"13", "Врач-акушер-гинеколог", "врач-акушер-гинеколог"},
	{"58", "Врач-педиатр", "врач-педиатр"},
	{"57", "Врач-патологоанатом", "врач-патологоанатом"},
	{"47", "Врач-неонатолог", "врач-неонатолог"},
}

func positionByCode(code string) position {
	for _, p := range positions {
		if p.Code == code {
			return p
		}
	}
	return positions[0]
}
