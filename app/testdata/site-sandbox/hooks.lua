-- Hooks: they run after the service's event, as the account that caused it.
app:on("user.banned", function(event)
    api.users.update(event.user_id, { var = { banned_seen = event.actor_id, name_was = event.user.username } })
end)

app:on("user.login", function(event)
    while true do end -- a runaway hook: stopped by the time limit, the sign-in doesn't wait
end)
