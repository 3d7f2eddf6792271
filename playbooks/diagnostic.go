package playbooks

import "github.com/aisoar/aisoar/internal/diag"

// Diagnostic is one problem found in a playbook, at file:line:col.
type Diagnostic = diag.Diagnostic

// Diagnostics is every problem found while loading and linting a playbook.
type Diagnostics = diag.Diagnostics
