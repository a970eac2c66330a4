service "api" {
  image = "api:1.0.0"
  args  = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
  #                                      ^ Nesting too deep
}
