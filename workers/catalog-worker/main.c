#include "lb_error.h"
int main(void) { return 0; }
