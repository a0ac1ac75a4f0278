app:get("/admin/takeover", function(ctx) return ctx:text("mine") end)
