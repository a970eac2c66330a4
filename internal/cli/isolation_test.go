package cli

// shopStack points the commands that work on deployed services (destroy,
// scale, rollback, logs, exec) at the example stack deployedShop runs:
// they act only for the stack they are given.
var shopStack = []string{"--stack", "../../jobs"}
