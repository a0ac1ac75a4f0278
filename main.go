// Command webmin is a web console for the user accounts of a website.
// Run "webmin help" for the commands.
package main

import (
	"os"

	"github.com/webmin/webmin/app"
)

func main() {
	os.Exit(app.Main(app.CLI{
		Args:      os.Args[1:],
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		LookupEnv: os.LookupEnv,
	}))
}
