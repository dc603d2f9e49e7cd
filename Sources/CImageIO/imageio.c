#include "imageio.h"
int restyle_imageio_placeholder(void){return 0;}
