module sdgo

go 1.26.8

require github.com/gomlx/gomlx v0.26.0 // indirect
