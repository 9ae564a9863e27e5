package stack

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procfile"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// loadPrograms reads the Procfile and the pre-start tasks of opts.
func (st *Stack) loadPrograms(opts Options) error {
	if opts.Procfile != "" {
		progs, err := procfile.Load(opts.Procfile)
		if err != nil {
			return &SettingError{"procfile", err}
		}
		st.Programs = progs
	}
	tasks, err := PreStartTasks(opts)
	if err != nil {
		return err
	}
	st.Tasks = tasks
	return nil
}

// PreStartTasks reads the pre-start tasks of opts.
func PreStartTasks(opts Options) ([]procfile.Task, error) {
	tasks, err := procfile.PreStart(procfile.SplitPreStart(opts.PreStart))
	if err != nil {
		return nil, &SettingError{"pre-start", err}
	}
	return tasks, nil
}

// programSpecs are the supervisor's specs of the Procfile's programs.
func (st *Stack) programSpecs() []supervisor.Spec {
	var specs []supervisor.Spec
	for _, p := range st.Programs {
		args := p.Args
		spec := supervisor.Spec{
			Name: p.Name, Path: p.Path, Args: func() ([]string, []string) { return args, nil }, Dir: p.Dir,
			StopSignal: p.StopSignal, Program: true, StopTimeout: p.StopTimeout,
			OnCrash: action(p.OnCrash), OnExit0: action(p.OnExit0),
		}
		if len(p.Env) > 0 {
			spec.Env = append(os.Environ(), p.Env...)
		}
		specs = append(specs, spec)
	}
	return specs
}

// TaskSupervisor is the supervisor's config for running the pre-start
// tasks alone, before the configs are read (a task may write them): the
// tasks, each run as lnmp-init's user, with its environment and working
// directory, stopped with SIGTERM to their process group within the stop
// timeout. It ends once the last task has.
func TaskSupervisor(tasks []procfile.Task, t Timing) supervisor.Config {
	return supervisor.Config{Tasks: TaskSpecs(tasks), StopTimeout: t.StopTimeout,
		StartTimeout: t.StartTimeout, CrashLimit: t.CrashLimit, CrashWindow: t.CrashWindow}
}

// TaskSpecs are the supervisor's specs of the pre-start tasks.
func TaskSpecs(tasks []procfile.Task) []supervisor.Spec {
	var specs []supervisor.Spec
	for _, t := range tasks {
		args := t.Args
		specs = append(specs, supervisor.Spec{Name: t.Name, Path: t.Path, Args: func() ([]string, []string) { return args, nil },
			StopSignal: unix.SIGTERM})
	}
	return specs
}

func action(a procfile.Action) supervisor.Action {
	switch a {
	case procfile.Exit:
		return supervisor.Exit
	case procfile.Ignore:
		return supervisor.Ignore
	}
	return supervisor.Restart
}
