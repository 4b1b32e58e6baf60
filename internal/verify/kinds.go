package verify

// kinds maps a case kind of cases.json to the function that runs it.
var kinds = map[string]kindFunc{}
