package sqlscript

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplitStatements(t *testing.T) {
	got := Split("-- comment\nCREATE TABLE a (\n  x int\n);\n\nCREATE TRIGGER t BEGIN DELETE FROM b; END;\nSELECT 1")
	assert.Equal(t, []string{"CREATE TABLE a (\n  x int\n)", "CREATE TRIGGER t BEGIN DELETE FROM b; END", "SELECT 1"}, got)
}
