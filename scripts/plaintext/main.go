// Command plaintext is the yardstick of scripts/bench.sh: a Fiber server
// with the same fiber.Config shape as Webmin's (app/server.go) that answers
// every request with a short plain-text body and nothing else: no
// middleware, templates, sessions or database. The pages' rates are
// reported as a share of its rate on the same machine in the same run.
package main

import (
	"log"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3099"
	}
	app := fiber.New(fiber.Config{
		AppName:               "plaintext",
		Immutable:             true,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           90 * time.Second,
		BodyLimit:             1 << 20,
		DisableStartupMessage: true,
	})
	app.Get("/*", func(c *fiber.Ctx) error {
		return c.SendString("Hello, World!")
	})
	log.Fatal(app.Listen("127.0.0.1:" + port))
}
