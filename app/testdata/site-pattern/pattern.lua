app:get("/fine/:name", function(ctx) return ctx:text("fine") end)
app:get("/flights/:from-:to", function(ctx) return ctx:text(ctx.params.from) end)
