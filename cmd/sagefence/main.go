// Command sagefence finds, fixes and proves the absence of internet exposure
// on Amazon SageMaker notebook instances.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sagefence/sagefence/internal/cli"
	"github.com/sagefence/sagefence/internal/iostreams"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, iostreams.System(), os.Args[1:])
	stop()
	os.Exit(code)
}
