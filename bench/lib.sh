# Order statistics shared by the bench scripts (sourced, not run).

# median N...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# summary LABEL N...: "LABEL: median X s, min Y s, max Z s over K runs".
summary() {
  local label=$1
  shift
  printf '%s\n' "$@" | sort -n | awk -v label="$label" '
    { v[NR] = $1 }
    END {
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s: median %.2f s, min %.2f s, max %.2f s over %d runs\n", label, med, v[1], v[NR], NR
    }'
}
