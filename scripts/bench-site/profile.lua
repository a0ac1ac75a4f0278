-- scripts/bench.sh (SITE=1): the built-in profile page's work as a site
-- script: read an account by username, draw it in a view inside the layout.
app:get("/profile/:username", function(ctx)
    local profile = api.users.get(ctx.params.username)
    if not profile then
        return ctx:error("User not found", 404)
    end
    local me = api.users.me()
    return ctx:render("profile", {
        title = profile.username,
        profile = profile,
        is_owner = me ~= nil and me.id == profile.id,
    })
end)
