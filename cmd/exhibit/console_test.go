package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func writtenFixture() []agent.Written {
	long := strings.Repeat("the role lacks a permission that the collector needs to list this resource type; ", 4)
	return []agent.Written{
		{Key: "evidence/aws.identity_center/111122223333/000000000042.json", Status: evidence.StatusComplete,
			Summary: map[evidence.Result]int{evidence.Pass: 12, evidence.Fail: 3}},
		{Key: "evidence/aws.cloudtrail/444455556666/000000000007.json", Status: evidence.StatusPartial,
			Summary: map[evidence.Result]int{evidence.Pass: 1, evidence.Error: 2},
			Errors: []evidence.RunError{
				{Where: "account 444455556666 region eu-west-1", Message: long},
				{Where: "account 444455556666", Message: "AccessDenied\x1b[2J"},
			}},
		{Series: "github.repos/example-org", Spooled: true, Status: evidence.StatusComplete},
	}
}

func TestPrintWrittenWidth(t *testing.T) {
	for _, width := range []int{30, 50, 72, 100, 0} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var b bytes.Buffer
			printWritten(&b, writtenFixture(), width)
			out := b.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for _, l := range lines {
				if width > 0 {
					require.LessOrEqual(t, utf8.RuneCountInString(l), width, "%q", l)
				}
			}
			// The table first, one row per snapshot, then the errors below.
			require.True(t, strings.HasPrefix(lines[0], "SNAPSHOT"))
			errAt := strings.Index(out, "\nErrors:\n")
			require.Positive(t, errAt)
			table := out[:errAt]
			require.Len(t, strings.Split(strings.TrimSpace(table), "\n"), 4)
			require.NotContains(t, table, "AccessDenied")
			below := out[errAt:]
			// Every word of the long error is there, wrapped, none cut off.
			require.Equal(t, 4, strings.Count(strings.Join(strings.Fields(below), " "), "list this resource type;"))
			require.Contains(t, below, `AccessDenied\x1b[2J`, "escaped, never a terminal control")
			if width == 0 || width >= 100 {
				require.Contains(t, table, "evidence/aws.identity_center/111122223333/000000000042.json")
			} else if width >= 72 {
				// Shortened from the start: the row keeps its series' end and sequence.
				require.Regexp(t, regexp.MustCompile(`…\S*111122223333/000000000042\.json`), table)
			}
			require.Contains(t, out, "(spooled)")
		})
	}
}

func TestWrap(t *testing.T) {
	require.Equal(t, []string{"abc def", "ghi"}, wrap("abc def ghi", 7))
	require.Equal(t, []string{"abcde", "fghij", "k"}, wrap("abcdefghijk", 5))
	require.Equal(t, []string{"one line"}, wrap("one line", 0))
}

// TestConsoleSerialisesProgressAndLog logs from many goroutines while
// progress lines begin and end: every line that comes out is a whole log
// entry or a whole progress line, never one inside the other.
func TestConsoleSerialisesProgressAndLog(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprint("tty=", tty), func(t *testing.T) {
			var b bytes.Buffer
			con := &console{w: &b, tty: tty}
			enc := zap.NewProductionEncoderConfig()
			log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(con), zap.InfoLevel))
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						log.Warn("throttled", zap.Int("goroutine", g), zap.Int("i", i))
					}
				}()
			}
			for i := range 50 {
				con.begin(fmt.Sprintf("[%d/50] aws.iam … ", i+1))
				con.end("3 snapshot(s) in 1ms")
			}
			close(stop)
			wg.Wait()

			logLine := regexp.MustCompile(`^\{"level":"warn".*"msg":"throttled","goroutine":\d,"i":\d+\}$`)
			done := regexp.MustCompile(`^\[\d+/50\] aws\.iam … 3 snapshot\(s\) in 1ms$`)
			open := regexp.MustCompile(`^\[\d+/50\] aws\.iam … $`)
			progress := 0
			for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if tty {
					// On a terminal an open progress line is erased before a
					// log line; what the terminal shows is what follows it.
					parts := strings.Split(l, "\r\x1b[K")
					l = parts[len(parts)-1]
				}
				switch {
				case logLine.MatchString(l):
				case done.MatchString(l):
					progress++
				case !tty && open.MatchString(l):
					// Ended by a log line; written again after it.
				default:
					t.Fatalf("interleaved line: %q", l)
				}
			}
			require.Equal(t, 50, progress)
		})
	}
}
