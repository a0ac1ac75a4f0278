package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/webmin/webmin/handlers/api"
)

// The API's contract, checked on every answer: Client.Do hands each
// /api/v1/ request and its answer to CheckContract, so that every API test
// also tests handlers/api/openapi.json (status, headers, body) with
// pb33f/libopenapi-validator, which understands OpenAPI 3.1 and JSON
// Schema 2020-12.

var contract struct {
	once sync.Once
	v    validator.Validator
	err  error
}

// Contract is the validator of the API's document, built once.
func Contract() (validator.Validator, error) {
	contract.once.Do(func() {
		doc, err := libopenapi.NewDocument(api.Document)
		if err != nil {
			contract.err = fmt.Errorf("read handlers/api/openapi.json: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
		if len(errs) > 0 {
			contract.err = fmt.Errorf("handlers/api/openapi.json: %v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			var b strings.Builder
			for _, e := range verrs {
				fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
			}
			contract.err = fmt.Errorf("handlers/api/openapi.json is not a valid OpenAPI document:%s", b.String())
			return
		}
		contract.v = v
	})
	return contract.v, contract.err
}

// CheckContract returns what is wrong with res, the answer to req, by the
// API's document ("" when nothing). An address the document doesn't list
// must be answered with the JSON error shape (a 401 or a 404).
func CheckContract(req *http.Request, res *http.Response, body []byte) string {
	v, err := Contract()
	if err != nil {
		return err.Error()
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	defer func() { res.Body = io.NopCloser(bytes.NewReader(body)) }()
	ok, errs := v.ValidateHttpResponse(req, res)
	if ok {
		return ""
	}
	var b strings.Builder
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation || e.ValidationSubType == helpers.ValidationMissingOperation {
			if msg := unlistedAnswer(res, body); msg != "" {
				fmt.Fprintf(&b, "\n  %s %s is not in the document, and %s", req.Method, req.URL.Path, msg)
			}
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    at %s: %s", se.FieldPath, se.Reason)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("the answer to %s %s (status %d) breaks handlers/api/openapi.json:%s\n%s",
		req.Method, req.URL.Path, res.StatusCode, b.String(), body)
}

// unlistedAnswer checks the answer to an address the document doesn't list.
func unlistedAnswer(res *http.Response, body []byte) string {
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusUnauthorized {
		return fmt.Sprintf("its status is %d, not 404 (or 401 without a key)", res.StatusCode)
	}
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Meta *struct {
			RequestID string `json:"requestId"`
		} `json:"meta"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == nil || e.Error.Code == "" || e.Meta == nil || e.Meta.RequestID == "" {
		return "it is not the JSON error shape"
	}
	return ""
}
