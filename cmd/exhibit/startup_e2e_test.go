package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SIGTERM while the agent is still starting (here: waiting on a store
// endpoint that accepts connections and never answers) ends it at once,
// as an interrupted start, not as a configuration problem; nothing has
// been collected.
func TestSignalDuringStartup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	cfg, env := ghConfig(t, "./key.pem")
	cfg = fmt.Sprintf("store: s3://evidence/prod\nstore_options:\n  endpoint: http://%s\n  region: us-east-1\n", ln.Addr()) +
		cfg[len("store: file://./evidence\n"):]
	for _, command := range []string{"run", "collect"} {
		t.Run(command, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
			cmd := exec.Command(binary, command, "-c", "exhibit.yaml")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), append(env, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=example", "AWS_EC2_METADATA_DISABLED=true")...)
			var logs syncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
				}
			}()
			select {
			case c := <-accepted:
				defer c.Close()
			case err := <-exited:
				t.Fatalf("exited before reaching the store: %v\n%s", err, logs.String())
			case <-time.After(60 * time.Second):
				t.Fatalf("never reached the store\n%s", logs.String())
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			select {
			case err := <-exited:
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, logs.String())
				require.Equal(t, 1, ee.ExitCode(), logs.String())
				require.Contains(t, logs.String(), "interrupted while starting")
			case <-time.After(60 * time.Second):
				t.Fatalf("SIGTERM during startup was ignored\n%s", logs.String())
			}
		})
	}
}
