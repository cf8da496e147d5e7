package media

// Strip exposes the structural stripper to the fuzz test.
var Strip = strip
