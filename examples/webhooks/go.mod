module innbocks.example/webhooks

go 1.19
