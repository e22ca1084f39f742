"""From stored webhook events to written-back tickets: the processor and the worker."""
