package app_test

import (
	"testing"

	"github.com/webmin/webmin/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }
