//go:build !unix

package schedule

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("file locks need a Unix system; use MySQL to run several herder processes")

func flockTry(*os.File) (bool, error) { return false, errNoFlock }

func flockRelease(*os.File) error { return nil }
