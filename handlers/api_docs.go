package handlers

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

const tplAPIDocs = "api/docs"

// The reference page of the JSON API, drawn on the server from its
// OpenAPI document (Handler.APIDocument, which app wires to
// handlers/api's), so that the page, the document and the code say the
// same thing; no script, no CDN.

// apiDocs is the document as the page shows it.
type apiDocs struct {
	Title       string
	Version     string
	Description string
	Tags        []apiDocsTag
	Schemas     []apiDocsSchema
}

type apiDocsTag struct {
	Name, Description string
	Operations        []apiDocsOperation
}

type apiDocsOperation struct {
	ID, Method, Path, Summary, Description string
	Public                                 bool // no key needed
	Parameters                             []apiDocsField
	Body                                   string // the request body's schema, by name or shape
	BodyFields                             []apiDocsField
	Responses                              []apiDocsResponse
}

type apiDocsField struct {
	Name, In, Type, Description string
	Required                    bool
}

type apiDocsResponse struct {
	Status, Description string
	Schema              string // a shape of the Shapes section, or ""
	Shape               string // what the body holds, in words
}

type apiDocsSchema struct {
	Name   string
	Fields []apiDocsField
}

// openAPI is the part of an OpenAPI 3.1 document the page reads.
type openAPI struct {
	Info struct {
		Title, Version, Description string
	}
	Tags []struct {
		Name, Description string
	}
	Paths      map[string]map[string]openAPIOperation
	Components struct {
		Parameters map[string]openAPIParameter
		Responses  map[string]openAPIResponse
		Schemas    map[string]openAPISchema
	}
}

type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Summary     string
	Description string
	Tags        []string
	Security    *[]any
	Parameters  []openAPIParameter
	RequestBody *struct {
		Content map[string]struct{ Schema openAPISchema }
	} `json:"requestBody"`
	Responses map[string]openAPIResponse
}

type openAPIParameter struct {
	Ref         string `json:"$ref"`
	Name, In    string
	Description string
	Required    bool
	Schema      openAPISchema
}

type openAPIResponse struct {
	Ref         string `json:"$ref"`
	Description string
	Content     map[string]struct{ Schema openAPISchema }
}

type openAPISchema struct {
	Ref         string `json:"$ref"`
	Type        any
	Format      string
	Enum        []any
	Description string
	Required    []string
	Properties  map[string]openAPISchema
	Items       *openAPISchema
	OneOf       []openAPISchema `json:"oneOf"`
}

// refName is the last part of a $ref (#/components/schemas/User → User).
func refName(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }

// typeText says what a schema holds, in a few words.
func (s openAPISchema) typeText() string {
	if s.Ref != "" {
		return refName(s.Ref)
	}
	var kinds []string
	for _, o := range s.OneOf {
		kinds = append(kinds, o.typeText())
	}
	switch t := s.Type.(type) {
	case string:
		kinds = append(kinds, t)
	case []any:
		for _, k := range t {
			kinds = append(kinds, fmt.Sprint(k))
		}
	}
	text := strings.Join(kinds, " or ")
	if s.Items != nil {
		text = "array of " + s.Items.typeText()
	}
	if s.Format != "" {
		text += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, v := range s.Enum {
			if v != nil {
				vals = append(vals, fmt.Sprint(v))
			}
		}
		text += ": " + strings.Join(vals, ", ")
	}
	return text
}

// fields lists an object schema's properties, in name order.
func (s openAPISchema) fields() []apiDocsField {
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	out := make([]apiDocsField, 0, len(s.Properties))
	for name, p := range s.Properties {
		out = append(out, apiDocsField{Name: name, Type: p.typeText(), Description: p.Description, Required: required[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var methodOrder = map[string]int{"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}

// readAPIDocs turns the document into the page's data.
func readAPIDocs(doc []byte) (*apiDocs, error) {
	var d openAPI
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("the API's OpenAPI document: %w", err)
	}
	out := &apiDocs{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}
	byTag := map[string]*apiDocsTag{}
	for _, t := range d.Tags {
		out.Tags = append(out.Tags, apiDocsTag{Name: t.Name, Description: t.Description})
	}
	for i := range out.Tags {
		byTag[out.Tags[i].Name] = &out.Tags[i]
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		methods := make([]string, 0, len(d.Paths[path]))
		for m := range d.Paths[path] {
			methods = append(methods, m)
		}
		sort.Slice(methods, func(i, j int) bool { return methodOrder[methods[i]] < methodOrder[methods[j]] })
		for _, m := range methods {
			o := d.Paths[path][m]
			op := apiDocsOperation{ID: o.OperationID, Method: strings.ToUpper(m), Path: path, Summary: o.Summary,
				Description: o.Description, Public: o.Security != nil && len(*o.Security) == 0}
			for _, p := range o.Parameters {
				if p.Ref != "" {
					p = d.Components.Parameters[refName(p.Ref)]
				}
				op.Parameters = append(op.Parameters, apiDocsField{Name: p.Name, In: p.In, Type: p.Schema.typeText(),
					Description: p.Description, Required: p.Required})
			}
			if o.RequestBody != nil {
				if c, ok := o.RequestBody.Content[fiber.MIMEApplicationJSON]; ok {
					s := c.Schema
					op.Body = s.typeText()
					if s.Ref != "" {
						s = d.Components.Schemas[refName(s.Ref)]
					}
					op.BodyFields = s.fields()
				}
			}
			statuses := make([]string, 0, len(o.Responses))
			for st := range o.Responses {
				statuses = append(statuses, st)
			}
			sort.Strings(statuses)
			for _, st := range statuses {
				r := o.Responses[st]
				if r.Ref != "" {
					r = d.Components.Responses[refName(r.Ref)]
				}
				resp := apiDocsResponse{Status: st, Description: r.Description}
				if c, ok := r.Content[fiber.MIMEApplicationJSON]; ok {
					s := c.Schema
					if data, ok := s.Properties["data"]; ok && s.Ref == "" { // an envelope drawn inline
						s = data
					}
					resp.Shape = s.typeText()
					if s.Ref != "" {
						resp.Schema = refName(s.Ref)
					} else if s.Items != nil && s.Items.Ref != "" {
						resp.Schema = refName(s.Items.Ref)
					}
				}
				op.Responses = append(op.Responses, resp)
			}
			tag := "other"
			if len(o.Tags) > 0 {
				tag = o.Tags[0]
			}
			t := byTag[tag]
			if t == nil {
				out.Tags = append(out.Tags, apiDocsTag{Name: tag})
				for i := range out.Tags {
					byTag[out.Tags[i].Name] = &out.Tags[i]
				}
				t = byTag[tag]
			}
			t.Operations = append(t.Operations, op)
		}
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if f := d.Components.Schemas[n].fields(); len(f) > 0 {
			out.Schemas = append(out.Schemas, apiDocsSchema{Name: n, Fields: f})
		}
	}
	return out, nil
}

// apiDocsCache keeps the page's data, read from the document once.
type apiDocsCache struct {
	once sync.Once
	docs *apiDocs
	err  error
}

// ShowAPIDocs is GET /api/docs: the API reference, for anyone.
func (h *Handler) ShowAPIDocs(c *fiber.Ctx) error {
	h.apiDocs.once.Do(func() { h.apiDocs.docs, h.apiDocs.err = readAPIDocs(h.APIDocument) })
	if h.apiDocs.err != nil {
		return h.apiDocs.err
	}
	return h.render(c, tplAPIDocs, Page{Title: "API reference", Data: fiber.Map{"Docs": h.apiDocs.docs}})
}
