package models

// UsernameFrom is usernameFrom, for its table test.
var UsernameFrom = usernameFrom
