package procfile

import (
	"fmt"
	"os"
	"strings"
)

// Task is one pre-start task: a command run to its end before php-fpm
// starts.
type Task struct {
	// Name labels the task's output: pre-start-1, pre-start-2, ...
	Name string
	Command
}

// SplitPreStart splits LNMP_PRE_START into task commands, one a line.
//
// The separator is the newline because it is the one character a
// one-line command never holds: every printable candidate (';', ',', '|',
// "&&") is shell syntax that a task may need itself. In YAML a block
// scalar holds several tasks:
//
//	env:
//	- name: LNMP_PRE_START
//	  value: |
//	    php artisan migrate --force
//	    php artisan config:cache
//
// Each line is trimmed; blank lines and lines starting with '#' are
// skipped. A task that needs several lines of shell belongs in a script.
func SplitPreStart(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// PreStart parses and resolves the task commands, in order, against
// lnmp-init's working directory and PATH. The error names the task by its
// number and command.
func PreStart(cmds []string) ([]Task, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("pre-start: working directory: %w", err)
	}
	var tasks []Task
	for i, text := range cmds {
		c, err := ParseCommand(text)
		if err == nil {
			err = c.Resolve(dir, os.Getenv("PATH"))
		}
		if err != nil {
			return nil, fmt.Errorf("task %d (%q): %w", i+1, text, err)
		}
		tasks = append(tasks, Task{Name: fmt.Sprintf("pre-start-%d", i+1), Command: c})
	}
	return tasks, nil
}
