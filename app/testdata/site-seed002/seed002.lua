-- Seed 002's Lua API wrapper examples, verbatim inside a route (the route
-- and its ctx:json answer are ours), run by a signed-in admin.
app:post("/seed002", function(ctx)
    -- List users
    local users = api.users:list({ search = "john", page = 1, limit = 10 })

    -- Get current user
    local me = api.users:getMe()

    -- Get a user
    local user = api.users:get(42)

    -- Create a user
    local newUser = api.users:create({
        username = "newuser",
        password = "secure-password",
        email = "new@example.com"
    })

    -- Update a user
    api.users:update(42, { level = 5 })

    -- Delete a user
    api.users:delete(42)

    -- Online visitors
    local visitors = api.users:online()

    return ctx:json({ users = users, me = me, user = user, newUser = newUser, visitors = visitors })
end)
