int restyle_imageio_placeholder(void);
