app:get("/fine", function(ctx) return ctx:text("fine") end)
