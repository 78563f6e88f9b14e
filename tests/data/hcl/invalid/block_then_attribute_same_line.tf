locals {} x = 1
