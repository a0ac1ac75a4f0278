app:get("/broken", function(ctx)
    local x = = 1
end)
