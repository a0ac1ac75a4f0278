// Package static holds the stylesheet and the passkeys script
// (js/passkeys.js), embedded in the binary.
package static

import "embed"

// FS holds every static file.
//
//go:embed css js
var FS embed.FS
