package handlers

import (
	"os"
	"testing"
)

func TestReadAPIDocs(t *testing.T) {
	doc, err := os.ReadFile("api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := readAPIDocs(doc)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tag := range d.Tags {
		n += len(tag.Operations)
	}
	if n < 20 || len(d.Schemas) < 5 {
		t.Fatalf("%d operations, %d schemas", n, len(d.Schemas))
	}
}
