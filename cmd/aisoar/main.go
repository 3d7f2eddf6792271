// Command aisoar is a SOAR playbook engine for incidents against AI
// systems. Run `aisoar dev` for a complete local instance, or `aisoar
// --help` for every command.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "aisoar:", err)
		os.Exit(1)
	}
}
