// Package views holds the page templates, embedded in the binary. See
// README.md here for each page's data and the partials.
package views

import "embed"

// FS holds every template.
//
//go:embed layouts partials auth member profile errors mail admin api *.html
var FS embed.FS
