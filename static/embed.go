// Package static holds the stylesheet and images, embedded in the binary.
package static

import "embed"

// FS holds every static file.
//
//go:embed css js
var FS embed.FS
