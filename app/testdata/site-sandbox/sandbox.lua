-- Escapes that the sandbox refuses, and scripts that misbehave.

app:get("/escapes", function(ctx)
    local found = {}
    for _, name in ipairs({ "os", "io", "debug", "package", "require", "dofile", "loadfile",
                            "load", "loadstring", "module", "collectgarbage", "getfenv", "setfenv", "channel" }) do
        if _G[name] ~= nil then table.insert(found, name) end
    end
    local ok = pcall(function() return string.rep("x", 100000000) end)
    if ok then table.insert(found, "string.rep of 100 MB") end
    local ok2 = pcall(function() local s = string.rep("x", 3000000) return table.concat({ s, s }, "") end)
    if ok2 then table.insert(found, "table.concat of 6 MB") end
    local deep = pcall(function() local function f(n) return f(n + 1) + 1 end return f(1) end)
    if deep then table.insert(found, "endless recursion") end
    return ctx:json({ found = found, n = #found })
end)

app:get("/loop", function(ctx)
    while true do end
end)

app:get("/fast", function(ctx)
    return ctx:text("fast " .. (ctx.query.n or ""))
end)

app:get("/boom", function(ctx)
    local t = nil
    return ctx:text(t.field)
end)

app:get("/silent", function(ctx)
end)

app:get("/hello/:name?", function(ctx)
    return ctx:render("hello", { name = ctx.params.name, title = "Hello" })
end)

app:post("/echo", function(ctx)
    return ctx:json({ post = req.post, is_user = env.is_user })
end)

-- A visitor's script can't act as the system: changes need an account.
app:post("/delete/:id", function(ctx)
    api.users.delete(tonumber(ctx.params.id))
    return ctx:text("deleted")
end)

app:post("/promote/:id", function(ctx)
    local ok, err = pcall(api.users.update, tonumber(ctx.params.id), { level = 9 })
    if not ok then return ctx:json({ error = err.message, status = err.status }, err.status) end
    return ctx:text("promoted")
end)

app:get("/list", function(ctx)
    local r = api.users.list({ search = ctx.query.q })
    local emails = {}
    for _, u in ipairs(r.items) do
        if u.email then table.insert(emails, u.email) end
    end
    return ctx:json({ total = r.total, emails = emails, n = #emails })
end)

app:post("/create", function(ctx)
    local user = api.users.create(req.post)
    return ctx:json({ id = user.id, level = user.level })
end)

app:get("/double", function(ctx)
    local s = "x"
    for i = 1, 40 do s = s .. s end
    return ctx:text(#s)
end)
