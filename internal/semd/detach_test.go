package semd

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"
)

// TestDetachCoversEveryString: after detach, no string of the header points
// into the memory the tree's values came from. Every string field reachable
// from a Document (through pointers and slices) is set to a view of one
// buffer, the buffer is overwritten after detach, and every field must keep
// its value: a string field added to Document and forgotten in eachString
// would change with the buffer (the door's pooled parse reuses that memory
// for the next document).
func TestDetachCoversEveryString(t *testing.T) {
	buf := make([]byte, 0, 1<<16)
	var want []string
	// fill sets every settable string under v to a new view of buf.
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			s := fmt.Sprintf("v%d", len(want))
			start := len(buf)
			buf = append(buf, s...)
			v.SetString(unsafe.String(&buf[start], len(s)))
			want = append(want, s)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for i := 0; i < v.Len(); i++ {
				fill(v.Index(i))
			}
		case reflect.Struct:
			if v.Type().PkgPath() != reflect.TypeFor[Document]().PkgPath() {
				return // time.Time
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		}
	}
	var doc Document
	fill(reflect.ValueOf(&doc).Elem())
	if len(want) < 60 {
		t.Fatalf("only %d strings filled: the walk misses fields", len(want))
	}
	doc.detach()
	for i := range buf {
		buf[i] = '#'
	}
	var got []string
	var read func(v reflect.Value)
	read = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			got = append(got, v.String())
		case reflect.Pointer:
			read(v.Elem())
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				read(v.Index(i))
			}
		case reflect.Struct:
			if v.Type().PkgPath() != reflect.TypeFor[Document]().PkgPath() {
				return
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					read(v.Field(i))
				}
			}
		}
	}
	read(reflect.ValueOf(&doc).Elem())
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("strings changed with the tree's memory after detach:\ngot  %q\nwant %q", got, want)
	}
}
